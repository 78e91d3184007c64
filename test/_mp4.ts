import { createFile, MP4BoxBuffer } from 'mp4box';

/** A track as mp4box.js reports it: the fields the tests read. */
export interface Mp4TrackInfo {
  readonly codec: string;
  readonly nb_samples: number;
  readonly video?: { readonly width: number; readonly height: number };
  readonly audio?: { readonly sample_rate: number };
}

/** The tracks mp4box.js reads from an init segment followed by a media segment (what a player demuxes). */
export function tracksOf(init: Buffer, segment: Buffer): Mp4TrackInfo[] {
  const file = createFile();
  let tracks: Mp4TrackInfo[] = [];
  file.onReady = (info) => {
    tracks = info.tracks as unknown as Mp4TrackInfo[];
  };
  const bytes = new Uint8Array(Buffer.concat([init, segment]));
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(bytes.buffer, 0));
  file.flush();
  return tracks;
}
