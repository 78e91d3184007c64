import { type Static, Type } from '@sinclair/typebox';
import { RestreamTargetSchema } from '../../contracts/restream.ts';
import { streamNamePattern } from '../../util/stream-name.ts';

/**
 * The sources file (`--sources`, docs/sources.md): every key of a pulled source with its default. The
 * one place they are written; the file parser fills the defaults in and reports what does not fit.
 */
export const PullSourceSchema = Type.Object(
  {
    name: Type.String({
      pattern: streamNamePattern.source,
      description: 'the stream name viewers use (`/viewer.html?stream=<name>`): 1–64 of A-Z a-z 0-9 _ -',
    }),
    url: Type.String({
      minLength: 1,
      description:
        '`rtsp://`, `rtsps://`, `http(s)://` (MJPEG, MPEG-TS, HLS) or any ffmpeg input; `user:password@` in it is never logged nor shown',
    }),
    onDemand: Type.Boolean({
      default: false,
      description:
        'pull only while someone watches: start at the first manifest or API request, stop `closeAfterSeconds` after the last; `false` pulls all the time',
    }),
    closeAfterSeconds: Type.Number({
      minimum: 1,
      maximum: 86_400,
      default: 10,
      description: 'an on-demand source with no viewer request for this long is stopped, s',
    }),
    rtspTransport: Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('http')], {
      default: 'tcp',
      description:
        'RTSP only: RTP over the RTSP TCP connection (`tcp`, passes NAT and firewalls, no loss), over `udp`, or tunnelled in `http`',
    }),
    video: Type.Union([Type.Literal('copy'), Type.Literal('h264')], {
      default: 'copy',
      description:
        "`copy`: the camera's video as it comes (H.264 reaches viewers unchanged; other codecs such as MJPEG are encoded to H.264 for DASH only); `h264`: encode to H.264 when pulling (x264 veryfast zerolatency), e.g. to lower the bitrate",
    }),
    bitrate: Type.Optional(
      Type.String({
        pattern: '^[0-9]+(\\.[0-9]+)?[kM]?$',
        description: 'with `video: h264`: the target video bitrate, ffmpeg style (`800k`, `2M`)',
      }),
    ),
    audio: Type.Union([Type.Literal('copy'), Type.Literal('aac'), Type.Literal('none')], {
      default: 'copy',
      description:
        "`copy`: the camera's sound as it comes (AAC reaches viewers unchanged, G.711 and the rest become AAC for DASH only); `aac`: encode to AAC when pulling; `none`: drop the sound",
    }),
    inputOptions: Type.Optional(
      Type.Array(Type.String(), {
        maxItems: 64,
        description:
          'extra ffmpeg options placed before `-i <url>`, one per item (`["-f", "mpjpeg"]`, `["-use_wallclock_as_timestamps", "1"]`)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const SourcesFileSchema = Type.Object(
  {
    sources: Type.Array(PullSourceSchema, {
      maxItems: 1000,
      description: 'the streams to pull',
      default: [],
    }),
    restream: Type.Array(RestreamTargetSchema, {
      maxItems: 1000,
      default: [],
      description: 'push targets: any stream (pulled or published) pushed on to RTMP/RTMPS servers',
    }),
  },
  { additionalProperties: false },
);

/** The whole file with its defaults filled in. */
export type SourcesFile = Static<typeof SourcesFileSchema>;

/** One pulled source with its defaults filled in. */
export type PullSource = Static<typeof PullSourceSchema>;
