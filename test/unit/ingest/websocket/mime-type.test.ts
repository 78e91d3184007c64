import { describe, expect, it } from 'vitest';
import { describeMimeType, readMimeType } from '../../../../src/ingest/websocket/mime-type.ts';

describe('describeMimeType', () => {
  it.each([
    ['video/x-matroska;codecs=avc1,opus', { container: 'matroska', video: 'h264', audio: 'opus' }],
    ['video/x-matroska;codecs=avc1.42E01E', { container: 'matroska', video: 'h264', audio: 'none' }],
    ['video/webm;codecs=h264', { container: 'webm', video: 'h264', audio: 'none' }],
    ['video/webm;codecs="vp8, opus"', { container: 'webm', video: 'vp8', audio: 'opus' }],
    ['video/webm; codecs="vp8,vorbis"', { container: 'webm', video: 'vp8', audio: 'vorbis' }],
    ['video/webm;codecs=vp9', { container: 'webm', video: 'vp9', audio: 'none' }],
    ['video/webm;codecs=vp09.00.10.08', { container: 'webm', video: 'vp9', audio: 'none' }],
    ['video/webm;codecs=av01.0.04M.08,opus', { container: 'webm', video: 'av1', audio: 'opus' }],
    ['video/x-matroska;codecs=avc1,mp4a.40.2', { container: 'matroska', video: 'h264', audio: 'aac' }],
    ['video/x-matroska;codecs=avc1,pcm', { container: 'matroska', video: 'h264', audio: 'pcm' }],
    ['VIDEO/WEBM;CODECS=VP8,OPUS', { container: 'webm', video: 'vp8', audio: 'opus' }],
    ['video/webm', { container: 'webm', video: 'unknown', audio: 'unknown' }],
    ['video/x-matroska', { container: 'matroska', video: 'unknown', audio: 'unknown' }],
    ['video/matroska', { container: 'matroska', video: 'unknown', audio: 'unknown' }],
    ['audio/webm;codecs=opus', undefined],
  ])('%s → %o', (mimeType, expected) => {
    expect(describeMimeType(mimeType)).toEqual(expected);
  });

  it.each([
    ['video/mp4;codecs=avc1,opus', { container: 'mp4', video: 'h264', audio: 'opus' }],
    ['video/mp4;codecs=avc1.42E01E,mp4a.40.2', { container: 'mp4', video: 'h264', audio: 'aac' }],
    ['video/mp4', { container: 'mp4', video: 'unknown', audio: 'unknown' }],
  ])('%s → %o (Safari, Chrome MP4 recording)', (mimeType, expected) => {
    expect(describeMimeType(mimeType)).toEqual(expected);
  });

  it.each(['video/quicktime', 'application/octet-stream', '', 'webm'])(
    '%j → undefined (not WebM/Matroska or MP4)',
    (mimeType) => {
      expect(describeMimeType(mimeType)).toBeUndefined();
    },
  );
});

describe('readMimeType: what the packager takes, refused at hello otherwise', () => {
  it.each([
    ['video/webm;codecs=hev1.1.6.L93.B0', { refused: 'codec', codec: 'hev1.1.6.l93.b0' }],
    ['video/mp4;codecs="hvc1.1.6.L93.B0,mp4a.40.2"', { refused: 'codec', codec: 'hvc1.1.6.l93.b0' }],
    ['video/webm;codecs=theora,vorbis', { refused: 'codec', codec: 'theora' }],
    ['video/webm;codecs=h264,made-up', { refused: 'codec', codec: 'made-up' }],
    ['video/webm;codecs=opus', { refused: 'no-video' }],
    ['video/quicktime', { refused: 'container' }],
  ])('%s → %o', (mimeType, expected) => {
    expect(readMimeType(mimeType)).toEqual(expected);
  });

  it.each(['video/webm;codecs=vp8,opus', 'video/x-matroska;codecs=avc1,opus', 'video/mp4', 'video/webm'])(
    '%s is taken',
    (mimeType) => {
      expect(readMimeType(mimeType)).toEqual({ media: describeMimeType(mimeType) });
    },
  );
});
