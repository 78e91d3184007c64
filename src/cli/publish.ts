import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { locateFfmpeg } from '../ffmpeg/ffmpeg-locate.ts';
import { isValidStreamName } from '../util/stream-name.ts';
import { IngestClient } from './ingest-client.ts';
import {
  buildPublishArgs,
  hasAudio,
  ingestUrl,
  type PublishOptions,
  publishMimeType,
} from './publish-args.ts';
import { UsageError } from './usage-error.ts';

export const publishHelp = `Usage: dashrelay publish --stream <name> --input <ffmpeg input> [options]

Publishes any ffmpeg input over the WebSocket ingest, as a browser's capture page would.

Options:
  --server <url>         server to publish to (default http://127.0.0.1:8080)
  --stream <name>        stream name: 1-64 of A-Z a-z 0-9 _ - (required)
  --input <input>        ffmpeg input: a file, a device (/dev/video0), a URL, a lavfi graph (required)
  --input-format <fmt>   ffmpeg -f for the input: lavfi, v4l2, …
  --audio <input>        a second input for sound, e.g. sine=frequency=440 (with --audio-format lavfi)
  --audio-format <fmt>   ffmpeg -f for --audio (lavfi, alsa, pulse, …)
  --no-audio             send no sound
  --video-codec <c>      h264 (default, stream-copied by the server) | vp8 (re-encoded by the server) | copy
  --realtime <mode>      auto (default: yes for files and lavfi, no for devices) | yes | no
  --loop                 loop a file input forever
  --size <WxH>           scale the picture, e.g. 1280x720
  --fps <n>              output frame rate
  --duration <s>         stop after this many seconds
  -h, --help             show this help

Examples:
  dashrelay publish --stream demo --input testsrc2=size=1280x720:rate=30 --input-format lavfi \\
      --audio sine=frequency=440 --audio-format lavfi
  dashrelay publish --stream pi --input /dev/video0 --input-format v4l2 --size 1280x720 --fps 30
  dashrelay publish --stream clip --input movie.mp4 --loop`;

interface ParsedPublish {
  readonly server: string;
  readonly stream: string;
  readonly options: PublishOptions;
}

/** Parses `publish` flags. @throws UsageError naming the flag. */
export function parsePublishArgs(
  argv: readonly string[],
): { help: true } | ({ help: false } & ParsedPublish) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      server: { type: 'string', default: 'http://127.0.0.1:8080' },
      stream: { type: 'string' },
      input: { type: 'string' },
      'input-format': { type: 'string' },
      audio: { type: 'string' },
      'audio-format': { type: 'string' },
      'no-audio': { type: 'boolean', default: false },
      'video-codec': { type: 'string', default: 'h264' },
      realtime: { type: 'string', default: 'auto' },
      loop: { type: 'boolean', default: false },
      size: { type: 'string' },
      fps: { type: 'string' },
      duration: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return { help: true };
  if (!values.stream) throw new UsageError('--stream is required');
  if (!isValidStreamName(values.stream)) {
    throw new UsageError(`--stream must be 1-64 of A-Z a-z 0-9 _ - (got "${values.stream}")`);
  }
  if (!values.input)
    throw new UsageError(
      '--input is required (a file, a device, or a lavfi graph with --input-format lavfi)',
    );
  try {
    new URL(values.server);
  } catch {
    throw new UsageError(`--server must be a URL like http://127.0.0.1:8080 (got "${values.server}")`);
  }
  const codec = values['video-codec'];
  if (codec !== 'h264' && codec !== 'vp8' && codec !== 'copy') {
    throw new UsageError(`--video-codec must be h264, vp8 or copy (got "${codec}")`);
  }
  if (values.size !== undefined && !/^\d{2,5}x\d{2,5}$/.test(values.size)) {
    throw new UsageError(`--size must look like 1280x720 (got "${values.size}")`);
  }
  const fps = values.fps === undefined ? undefined : Number(values.fps);
  if (fps !== undefined && !(fps > 0 && fps <= 240))
    throw new UsageError(`--fps must be a number in (0, 240] (got "${values.fps}")`);
  const durationS = values.duration === undefined ? undefined : Number(values.duration);
  if (durationS !== undefined && !(durationS > 0)) {
    throw new UsageError(`--duration must be a positive number of seconds (got "${values.duration}")`);
  }
  const rt = values.realtime;
  if (rt !== 'auto' && rt !== 'yes' && rt !== 'no')
    throw new UsageError(`--realtime must be auto, yes or no (got "${rt}")`);
  const isDevice = ['v4l2', 'video4linux2', 'avfoundation', 'dshow', 'alsa', 'pulse'].includes(
    values['input-format'] ?? '',
  );
  const isNetwork = /^(rtsp|rtmp|srt|udp|tcp|https?):/.test(values.input);
  const realtime = rt === 'yes' || (rt === 'auto' && !isDevice && !isNetwork);
  return {
    help: false,
    server: values.server,
    stream: values.stream,
    options: {
      input: values.input,
      inputFormat: values['input-format'],
      audio: values.audio,
      audioFormat: values['audio-format'],
      noAudio: values['no-audio'],
      videoCodec: codec,
      realtime,
      loop: values.loop,
      size: values.size,
      fps,
      keyframeIntervalMs: 1000,
      durationS,
      videoBitrateBps: 2_000_000,
    },
  };
}

/** `dashrelay publish`: resolves to the exit code. */
export async function runPublish(argv: readonly string[]): Promise<number> {
  const result = parsePublishArgs(argv);
  if (result.help) {
    console.log(publishHelp);
    return 0;
  }
  const parsed: ParsedPublish = result;
  const ffmpeg = await locateFfmpeg();
  const url = ingestUrl(parsed.server, parsed.stream);
  const mimeType = publishMimeType(parsed.options);
  const say = (msg: string): void => console.log(`[publish ${parsed.stream}] ${msg}`);

  let child: ReturnType<typeof spawn> | undefined;
  let bytesSent = 0;
  let serverBytes = 0;
  let failed = false;

  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      clearInterval(progress);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (child && child.exitCode === null) child.kill('SIGTERM');
      client.close();
      resolve(code);
    };
    const onSignal = (): void => {
      say('stopping');
      finish(0);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const progress = setInterval(() => {
      if (child)
        say(`sent ${(bytesSent / 1e6).toFixed(1)} MB, server has ${(serverBytes / 1e6).toFixed(1)} MB`);
    }, 5000);

    const hello = {
      mimeType,
      keyframeIntervalMs:
        parsed.options.videoCodec === 'copy' ? undefined : parsed.options.keyframeIntervalMs,
      ...sizeHint(parsed.options),
      client: 'dashrelay-publish',
    };
    const client = new IngestClient(url, hello, {
      onReady(msg) {
        say(`connected to ${url}`);
        say(`live: watch at ${new URL(msg.viewerUrl, parsed.server.replace(/^ws/, 'http'))}`);
        // ffmpeg starts only now, so its first byte is fresh: a backlog at start would become permanent latency.
        child = startFfmpeg();
      },
      onStatus(msg) {
        serverBytes = msg.bytesReceived;
      },
      onWarning(msg) {
        say(`server warning ${msg.code}: ${msg.message}`);
      },
      onError(msg) {
        failed = true;
        console.error(`[publish ${parsed.stream}] server error ${msg.code}: ${msg.message}`);
      },
      onUnknownMessage(text) {
        console.error(
          `[publish ${parsed.stream}] ignoring a message the server sent that is not part of the protocol: ${text.slice(0, 80)}`,
        );
      },
      onClose(code, reason) {
        if (code !== 1000 && code !== 1005) {
          if (!failed) console.error(`[publish ${parsed.stream}] connection closed (${code}) ${reason}`);
          finish(1);
        } else finish(failed ? 1 : 0);
      },
      onSocketError(err) {
        console.error(
          `[publish ${parsed.stream}] cannot reach ${url}: ${err.message}. Is \`dashrelay serve\` running?`,
        );
        finish(1);
      },
    });

    function startFfmpeg(): ReturnType<typeof spawn> {
      const args = buildPublishArgs(parsed.options);
      const c = spawn(ffmpeg.path, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      c.stdout?.on('data', (chunk: Buffer) => {
        bytesSent += chunk.length;
        client.send(
          chunk,
          () => c.stdout?.pause(),
          () => c.stdout?.resume(),
        );
      });
      c.on('error', (err) => {
        console.error(`[publish ${parsed.stream}] could not run ffmpeg: ${err.message}`);
        finish(1);
      });
      c.on('close', (code) => {
        if (done) return;
        if (code === 0 || code === null || code === 255) {
          say('input ended');
          void client.flushed().then(() => finish(0));
        } else {
          console.error(
            `[publish ${parsed.stream}] ffmpeg exited with code ${code}; check --input and --input-format`,
          );
          finish(1);
        }
      });
      say(`ffmpeg ${ffmpeg.version}: ${hasAudio(parsed.options) ? 'video + audio' : 'video'} as ${mimeType}`);
      return c;
    }
  });
}

function sizeHint(o: PublishOptions): { width?: number; height?: number; fps?: number } {
  const hint: { width?: number; height?: number; fps?: number } = {};
  const size = o.size ?? /size=(\d+x\d+)/.exec(o.input)?.[1];
  if (size) {
    const [w, h] = size.split('x').map(Number);
    if (w && h) Object.assign(hint, { width: w, height: h });
  }
  const fps = o.fps ?? Number(/rate=(\d+(?:\.\d+)?)/.exec(o.input)?.[1] ?? Number.NaN);
  if (fps > 0) hint.fps = fps;
  return hint;
}
