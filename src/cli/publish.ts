import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DashrelayError } from '../errors/errors.ts';
import { type FfmpegBinary, locateFfmpeg } from '../ffmpeg/ffmpeg-locate.ts';
import { Backoff } from '../util/backoff.ts';
import { isValidStreamName } from '../util/stream-name.ts';
import { isRetryableClose, PublishExit } from './exit-codes.ts';
import { probeVideo } from './file-probe.ts';
import { IngestClient } from './ingest-client.ts';
import { hasAudio, ingestUrl, parseBitrate, publishMimeType } from './publish-args.ts';
import {
  InputMissingError,
  type PlanEnvironment,
  type PublishPlan,
  type PublishPreset,
  type PublishRequest,
  planPublish,
  publishPresets,
} from './publish-presets.ts';
import { PublishSource, type SourceExit } from './publish-source.ts';
import { PublishReporter, type PublishStatus } from './status-line.ts';
import { UsageError } from './usage-error.ts';

export const publishHelp = `Usage: dashrelay publish --stream <name> (--preset <p> | --input <ffmpeg input>) [options]

Publishes a camera, a file or any ffmpeg input over the WebSocket ingest, as a browser's capture page
would, and keeps doing so: when the server or the network goes away it reconnects by itself.

Presets:
  --preset rpi           Raspberry Pi camera: rpicam-vid (or libcamera-vid) H.264, copied, never
                         re-encoded; with --device /dev/video0, a V4L2 camera's own H.264 (copied).
                         Defaults 1280x720, 30 fps, 2M
  --preset webcam        V4L2 camera (--device, default /dev/video0), encoded with x264 veryfast/zerolatency
  --preset file          --input <file> looped forever at its own pace, copied when the server can
                         take it as it is (H.264, a keyframe every second), x264 otherwise
  --preset test          test pattern (1280x720, 30 fps) with a 440 Hz tone, x264

Options:
  --server <url>         server to publish to (default http://127.0.0.1:8080)
  --stream <name>        stream name: 1-64 of A-Z a-z 0-9 _ - (required)
  --token <token>        publish token (dashrelay token --stream <name>) or the stream's key,
                         when the server asks for one [DASHRELAY_TOKEN]
  --input <input>        ffmpeg input: a file, a device (/dev/video0), a URL, a lavfi graph
  --input-format <fmt>   ffmpeg -f for the input: lavfi, v4l2, …
  --device <path>        camera for --preset rpi or webcam (default /dev/video0 for webcam)
  --bitrate <rate>       video bitrate, e.g. 256k, 2M (bits/s). rpi: the camera's encoder
                         (--bitrate of rpicam-vid, or v4l2-ctl); x264: -b:v/-maxrate; default
                         constant quality (x264), 2M (rpi, vp8)
  --size <WxH>           picture size, e.g. 1280x720 (rpi: --width/--height of the camera tool;
                         webcam: asked of the camera; otherwise scaled)
  --fps <n>              frame rate (rpi: --framerate of the camera tool)
  --audio <input>        a second input for sound, e.g. sine=frequency=440 (with --audio-format lavfi)
  --audio-format <fmt>   ffmpeg -f for --audio (lavfi, alsa, pulse, …)
  --audio-bitrate <rate> Opus bitrate (default 96k)
  --no-audio             send no sound
  --video-codec <c>      h264 (default, stream-copied by the server) | vp8 (re-encoded by the server) | copy
  --realtime <mode>      auto (default: yes for files and lavfi, no for devices) | yes | no
  --loop                 loop a file input forever (always on with --preset file)
  --duration <s>         stop after this many seconds
  --no-reconnect         exit when the server cannot be reached, the connection drops or the input fails
  --status-every <s>     without a terminal: a status line every <s> seconds (default 10)
  -h, --help             show this help

Saving bandwidth (seed 002's settings, ~256 kbit/s):
  --bitrate 256k --size 640x360 --fps 15

Exit codes:
  0  the input ended (a file without --loop, --duration), or stopped with Ctrl-C / SIGTERM
  1  an unexpected error
  2  a bad option (the message names it)
  3  ffmpeg is missing, does not run, or is older than 5.1 (install it, or set FFMPEG_PATH)
  4  the input cannot be opened: no such camera device or file, rpicam-vid/libcamera-vid not on PATH,
     or the input fails before its first frame (with --no-reconnect: whenever it fails)
  5  the server refused the stream for good (bad stream name, unsupported format, no or a wrong
     --token, an address or a server that takes no publishers without a credential), or another
     publisher took the stream name over
  6  with --no-reconnect: the server could not be reached or the connection was lost

Examples:
  dashrelay publish --stream pi --preset rpi --server http://relay.local:8080
  dashrelay publish --stream pi --preset rpi --bitrate 256k --size 640x360 --fps 15
  dashrelay publish --stream desk --preset webcam --size 1280x720 --fps 30
  dashrelay publish --stream clip --preset file --input movie.mp4
  dashrelay publish --stream demo --preset test
  dashrelay publish --stream demo --input testsrc2=size=1280x720:rate=30 --input-format lavfi \\
      --audio sine=frequency=440 --audio-format lavfi`;

export interface ParsedPublish {
  readonly server: string;
  readonly stream: string;
  readonly request: PublishRequest;
  readonly reconnect: boolean;
  /** Publish credential (`--token`, `DASHRELAY_TOKEN`): a token or the stream's key. */
  readonly token: string | undefined;
  /** Plain (non-terminal) output: a status line at most this often, ms. */
  readonly statusEveryMs: number;
}

function positive(value: string | undefined, flag: string, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0)) throw new UsageError(`${flag} must be ${what} (got "${value}")`);
  return n;
}

function bitrate(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const bps = parseBitrate(value);
  if (bps === undefined) {
    throw new UsageError(`${flag} must be bits/s like 256k, 2M or 800000 (got "${value}")`);
  }
  return bps;
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
      token: { type: 'string' },
      preset: { type: 'string' },
      input: { type: 'string' },
      'input-format': { type: 'string' },
      device: { type: 'string' },
      audio: { type: 'string' },
      'audio-format': { type: 'string' },
      'audio-bitrate': { type: 'string' },
      'no-audio': { type: 'boolean', default: false },
      'video-codec': { type: 'string' },
      realtime: { type: 'string', default: 'auto' },
      loop: { type: 'boolean', default: false },
      size: { type: 'string' },
      fps: { type: 'string' },
      bitrate: { type: 'string' },
      duration: { type: 'string' },
      'no-reconnect': { type: 'boolean', default: false },
      'status-every': { type: 'string' },
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
  const preset = values.preset;
  if (preset !== undefined && !publishPresets.includes(preset as PublishPreset)) {
    throw new UsageError(`--preset must be one of ${publishPresets.join(', ')} (got "${preset}")`);
  }
  if (!values.input && preset === undefined)
    throw new UsageError(
      '--input is required (a file, a device, or a lavfi graph with --input-format lavfi), or pick a --preset (rpi, webcam, file, test)',
    );
  try {
    new URL(values.server);
  } catch {
    throw new UsageError(`--server must be a URL like http://127.0.0.1:8080 (got "${values.server}")`);
  }
  const codec = values['video-codec'];
  if (codec !== undefined && codec !== 'h264' && codec !== 'vp8' && codec !== 'copy') {
    throw new UsageError(`--video-codec must be h264, vp8 or copy (got "${codec}")`);
  }
  if (values.size !== undefined && !/^\d{2,5}x\d{2,5}$/.test(values.size)) {
    throw new UsageError(`--size must look like 1280x720 (got "${values.size}")`);
  }
  const fps = values.fps === undefined ? undefined : Number(values.fps);
  if (fps !== undefined && !(fps > 0 && fps <= 240))
    throw new UsageError(`--fps must be a number in (0, 240] (got "${values.fps}")`);
  const durationS = positive(values.duration, '--duration', 'a positive number of seconds');
  const statusEveryS = positive(values['status-every'], '--status-every', 'a positive number of seconds');
  const rt = values.realtime;
  if (rt !== 'auto' && rt !== 'yes' && rt !== 'no')
    throw new UsageError(`--realtime must be auto, yes or no (got "${rt}")`);
  return {
    help: false,
    server: values.server,
    stream: values.stream,
    reconnect: !values['no-reconnect'],
    token: values.token ?? (process.env.DASHRELAY_TOKEN || undefined),
    statusEveryMs: (statusEveryS ?? 10) * 1000,
    request: {
      preset: preset as PublishPreset | undefined,
      input: values.input,
      inputFormat: values['input-format'],
      device: values.device,
      audio: values.audio,
      audioFormat: values['audio-format'],
      audioBitrateBps: bitrate(values['audio-bitrate'], '--audio-bitrate'),
      noAudio: values['no-audio'],
      videoCodec: codec,
      realtime: rt,
      loop: values.loop,
      size: values.size,
      fps,
      bitrateBps: bitrate(values.bitrate, '--bitrate'),
      durationS,
    },
  };
}

/** The path of `name` on PATH (as a shell would run it), or `undefined`. */
export function which(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** How a connection attempt ended. */
type AttemptEnd =
  | { kind: 'stopped' }
  | { kind: 'input-ended' }
  | {
      kind: 'closed';
      code: number;
      reason: string;
      error?: { code: string; message: string } | undefined;
      socketError?: string | undefined;
      silent: boolean;
      reached: boolean;
    }
  | { kind: 'source-failed'; exit: SourceExit };

/** ms */
const silenceTimeoutMs = 15_000;

/** `dashrelay publish`: resolves to the exit code (see `PublishExit` and `--help`). */
export async function runPublish(argv: readonly string[]): Promise<number> {
  const result = parsePublishArgs(argv);
  if (result.help) {
    console.log(publishHelp);
    return PublishExit.ok;
  }
  const parsed: ParsedPublish = result;
  const tty = process.stdout.isTTY === true;
  const report = new PublishReporter({
    prefix: `[publish ${parsed.stream}]`,
    tty,
    plainEveryMs: parsed.statusEveryMs,
  });

  let ffmpeg: FfmpegBinary;
  try {
    ffmpeg = await locateFfmpeg();
  } catch (err) {
    if (!(err instanceof DashrelayError)) throw err;
    report.error(`${err.message} [${err.code}]`);
    return PublishExit.ffmpegMissing;
  }

  let plan: PublishPlan;
  try {
    const env: PlanEnvironment = {
      which: (name) => which(name),
      exists: existsSync,
      probe:
        parsed.request.preset === 'file' && parsed.request.input && existsSync(parsed.request.input)
          ? await probeVideo(ffmpeg.path, parsed.request.input)
          : undefined,
    };
    plan = planPublish(parsed.request, env);
  } catch (err) {
    if (err instanceof InputMissingError) {
      report.error(err.message);
      return PublishExit.inputMissing;
    }
    throw err;
  }
  let keyframeIntervalMs = plan.keyframeIntervalMs;
  if (plan.v4l2Ctl) {
    const ctl = plan.v4l2Ctl;
    const failed = await new Promise<string | undefined>((resolve) =>
      execFile(ctl.path, [...ctl.args], { timeout: 5000 }, (err, _out, stderr) =>
        resolve(err ? stderr.trim() || err.message : undefined),
      ),
    );
    if (failed) {
      report.error(
        `v4l2-ctl could not set the camera's bitrate and keyframe interval (${failed}); it keeps its own, and the server may re-encode`,
      );
      keyframeIntervalMs = undefined;
    }
  }

  const url = ingestUrl(parsed.server, parsed.stream);
  const mimeType = publishMimeType(plan.options);
  const hello = {
    mimeType,
    keyframeIntervalMs,
    ...(plan.width && plan.height ? { width: plan.width, height: plan.height } : {}),
    ...(plan.fps ? { fps: plan.fps } : {}),
    client: 'dashrelay-publish',
  };
  report.info(
    `ffmpeg ${ffmpeg.version}: ${plan.summary}; ${hasAudio(plan.options) ? 'video + audio' : 'video'} as ${mimeType}`,
  );

  const backoff = new Backoff();
  let stopRequested = false;
  let wakeUp: (() => void) | undefined;
  let current: { client: IngestClient; source: PublishSource | undefined } | undefined;
  let everProduced = false;
  let sessions = 0;
  // Status line numbers, for the connection in progress.
  let state: PublishStatus['state'] = 'connecting';
  let liveSince = 0;
  let frames = 0;
  let retryAt = 0;
  const samples: { at: number; bytes: number }[] = [];
  let bytesSent = 0;

  const snapshot = (): PublishStatus => {
    const now = Date.now();
    while (samples.length > 1 && now - (samples[0]?.at ?? now) > 5000) samples.shift();
    const first = samples[0];
    const span = first ? (now - first.at) / 1000 : 0;
    return {
      state,
      uptimeMs: state === 'live' ? now - liveSince : 0,
      bitrateBps: state === 'live' && first && span > 0.5 ? ((bytesSent - first.bytes) * 8) / span : 0,
      frames,
      reconnects: Math.max(0, sessions - 1),
      retryInMs: state === 'retrying' ? Math.max(0, retryAt - now) : undefined,
    };
  };
  const ticker = setInterval(() => {
    samples.push({ at: Date.now(), bytes: bytesSent });
    report.status(snapshot());
  }, 1000);

  const onSignal = (): void => {
    if (stopRequested) return;
    stopRequested = true;
    state = 'stopping';
    report.info('stopping');
    current?.client.close();
    void current?.source?.stop();
    wakeUp?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const attempt = (): Promise<AttemptEnd> =>
    new Promise<AttemptEnd>((resolve) => {
      let source: PublishSource | undefined;
      let serverError: { code: string; message: string } | undefined;
      let socketError: string | undefined;
      let sourceEnd: AttemptEnd | undefined;
      let reached = false;
      let sourceDone: Promise<void> = Promise.resolve();
      const client = new IngestClient(
        url,
        hello,
        {
          onReady(msg) {
            reached = true;
            sessions++;
            backoff.connected(Date.now());
            state = 'live';
            liveSince = Date.now();
            frames = 0;
            samples.length = 0;
            report.info(
              `${sessions > 1 ? 'reconnected' : 'connected'} to ${url}; live: watch at ${new URL(msg.viewerUrl, parsed.server.replace(/^ws/, 'http'))}`,
            );
            if (stopRequested) {
              client.close();
              return;
            }
            let exited!: () => void;
            sourceDone = new Promise((r) => {
              exited = r;
            });
            source = new PublishSource(ffmpeg.path, plan, {
              onData(chunk, pause, resume) {
                bytesSent += chunk.length;
                everProduced = true;
                client.send(chunk, pause, resume);
              },
              onProgress(p) {
                frames = p.frames;
              },
              onWarning(line) {
                report.error(`ffmpeg: ${line}`);
              },
              onExit(exit) {
                exited();
                if (stopRequested || !client.open) return;
                // The camera tool runs forever (-t 0): ffmpeg ending cleanly means it stopped, unless --duration.
                const natural =
                  !exit.spawnError &&
                  (exit.code === 0 || exit.code === 255) &&
                  (!plan.camera || (plan.options.durationS !== undefined && !exit.cameraEnded));
                if (natural) {
                  report.info('input ended');
                  sourceEnd = { kind: 'input-ended' };
                  void client.flushed().then(() => client.close('input ended'));
                } else {
                  sourceEnd = { kind: 'source-failed', exit };
                  client.close('publisher input failed');
                }
              },
            });
            current = { client, source };
          },
          onStatus() {
            // The line's numbers are ours (bytes sent, ffmpeg's frames); a status message only proves the server is there.
          },
          onWarning(msg) {
            report.error(`server warning ${msg.code}: ${msg.message}`);
          },
          onError(msg) {
            serverError = msg;
          },
          onUnknownMessage(text) {
            report.error(
              `ignoring a message the server sent that is not part of the protocol: ${text.slice(0, 80)}`,
            );
          },
          onSocketError(err) {
            socketError = err.message;
          },
          onClose(code, reason) {
            void (source?.stop() ?? Promise.resolve())
              .then(() => sourceDone)
              .then(() => {
                if (stopRequested) resolve({ kind: 'stopped' });
                else if (sourceEnd) resolve(sourceEnd);
                else
                  resolve({
                    kind: 'closed',
                    code,
                    reason,
                    error: serverError,
                    socketError,
                    silent: client.silent,
                    reached,
                  });
              });
          },
        },
        { connectTimeoutMs: 10_000, silenceTimeoutMs, token: parsed.token },
      );
      current = { client, source: undefined };
    });

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        wakeUp = undefined;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      };
    });

  const finish = (code: number): number => {
    clearInterval(ticker);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    report.close();
    return code;
  };

  for (;;) {
    if (stopRequested) return finish(PublishExit.ok);
    state = 'connecting';
    const end = await attempt();
    current = undefined;
    backoff.disconnected(Date.now());
    if (end.kind === 'stopped' || end.kind === 'input-ended') return finish(PublishExit.ok);
    let why: string;
    if (end.kind === 'source-failed') {
      const { exit } = end;
      // ffmpeg's last line names the problem ("No such file or directory", "Invalid data found…").
      const detail = exit.spawnError ?? exit.stderrTail.at(-1) ?? '';
      const what = plan.camera && exit.cameraEnded ? plan.camera.name : 'ffmpeg';
      const failure = `${what} stopped${exit.code !== null && what === 'ffmpeg' ? ` (exit code ${exit.code})` : ''}${detail ? `: ${detail}` : ''}`;
      if (!everProduced) {
        const check = plan.camera
          ? `the camera (\`${plan.camera.name} --list-cameras\`)`
          : parsed.request.device || parsed.request.preset === 'webcam'
            ? 'the camera (--device) and that no other program uses it'
            : '--input and --input-format';
        report.error(`${failure}\nThe input could not be opened: check ${check}.`);
        return finish(PublishExit.inputMissing);
      }
      if (!parsed.reconnect) {
        report.error(`${failure}; not restarting it (--no-reconnect)`);
        return finish(PublishExit.inputMissing);
      }
      why = failure;
    } else {
      const { code, reason, error, socketError } = end;
      if (error && !isRetryableClose(code)) {
        report.error(`the server refused the stream: ${error.message} [${error.code}]`);
        return finish(PublishExit.refused);
      }
      if (!isRetryableClose(code) && code !== 1000) {
        report.error(`the server refused the stream (close ${code} ${reason})`);
        return finish(PublishExit.refused);
      }
      if (error?.code === 'DR_ERR_INGEST_STREAM_BUSY') {
        why = `stream "${parsed.stream}" is pulled by the server from a camera right now`;
      } else if (code === 1001) {
        why = 'the server is shutting down';
      } else if (error) {
        why = `server error ${error.code}: ${error.message}`;
      } else if (end.silent) {
        why = `no answer from the server for ${silenceTimeoutMs / 1000} s`;
      } else if (socketError && !end.reached) {
        why = `cannot reach ${url}: ${socketError}${sessions === 0 ? '. Is `dashrelay serve` running?' : ''}`;
      } else if (socketError) {
        why = `connection lost: ${socketError}`;
      } else {
        why = `connection closed (${code}${reason ? ` ${reason}` : ''})`;
      }
      if (!parsed.reconnect) {
        report.error(`${why}; not reconnecting (--no-reconnect)`);
        return finish(PublishExit.disconnected);
      }
    }
    const delay = backoff.next();
    state = 'retrying';
    retryAt = Date.now() + delay;
    report.error(`${why}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${backoff.attempts})`);
    await wait(delay);
  }
}
