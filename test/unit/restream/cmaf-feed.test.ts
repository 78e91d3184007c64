import { describe, expect, it } from 'vitest';
import { SegmentStore } from '../../../src/live/segment-store.ts';
import { ffmpegDashNaming } from '../../../src/packager/ffmpeg/file-names.ts';
import { CmafFeed } from '../../../src/restream/cmaf-feed.ts';

const b = (s: string) => Buffer.from(s);

function setup(audioExpected: boolean) {
  const store = new SegmentStore('s', { naming: ffmpegDashNaming });
  const out = { video: [] as string[], audio: [] as string[], starts: [] as boolean[] };
  const feed = new CmafFeed(store, {
    audioExpected,
    onStart: ({ audio }) => {
      out.starts.push(audio);
      return {
        video: (c) => out.video.push(c.toString()),
        audio: audio ? (c) => out.audio.push(c.toString()) : undefined,
      };
    },
  });
  const file = (name: string, ...chunks: string[]) => {
    const f = store.begin(name);
    if (!f) throw new Error(name);
    for (const c of chunks) f.append(b(c));
    return f;
  };
  return { store, feed, out, file };
}

describe('CmafFeed', () => {
  it('joins at the video segment being written, from its start, and follows the packager', () => {
    const { feed, out, file } = setup(false);
    file('init-0.m4s', 'I').finish();
    file('seg-0-00001.m4s', '1a', '1b').finish();
    const two = file('seg-0-00002.m4s', '2a');
    feed.join();
    expect(out.starts).toEqual([false]);
    two.append(b('2b'));
    two.finish();
    file('seg-0-00003.m4s', '3a').finish();
    expect(out.video).toEqual(['I', '2a', '2b', '3a']);
  });

  it('sends a segment that starts before the previous one ended after it, whole', () => {
    const { feed, out, file } = setup(false);
    file('init-0.m4s', 'I').finish();
    feed.join();
    const one = file('seg-0-00001.m4s', '1a');
    const two = file('seg-0-00002.m4s', '2a');
    one.append(b('1b'));
    one.finish();
    two.finish();
    expect(out.video).toEqual(['I', '1a', '1b', '2a']);
  });

  it('adds audio from its init segment and the audio segment being written', () => {
    const { feed, out, file } = setup(true);
    file('init-0.m4s', 'V').finish();
    file('init-1.m4s', 'A').finish();
    file('seg-1-00001.m4s', 'a1').finish();
    const a2 = file('seg-1-00002.m4s', 'a2');
    file('seg-0-00001.m4s', 'v1');
    feed.join();
    expect(out.starts).toEqual([true]);
    a2.append(b('a2b'));
    a2.finish();
    file('seg-1-00003.m4s', 'a3').finish();
    expect(out.audio).toEqual(['A', 'a2', 'a2b', 'a3']);
    expect(out.video).toEqual(['V', 'v1']);
  });

  it('waits up to two video segments for an expected audio init segment, then goes without', () => {
    const { feed, out, file } = setup(true);
    file('init-0.m4s', 'V').finish();
    feed.join();
    file('seg-0-00001.m4s', 'v1').finish();
    file('seg-0-00002.m4s', 'v2').finish();
    expect(out.starts).toEqual([]);
    file('seg-0-00003.m4s', 'v3').finish();
    expect(out.starts).toEqual([false]);
    file('init-1.m4s', 'A').finish();
    file('seg-1-00004.m4s', 'a4').finish();
    expect(out.video).toEqual(['V', 'v3']);
    expect(out.audio).toEqual([]);
  });

  it('writes nothing after close', () => {
    const { feed, out, file } = setup(false);
    file('init-0.m4s', 'I').finish();
    const one = file('seg-0-00001.m4s', '1a');
    feed.join();
    feed.close();
    one.append(b('1b'));
    file('seg-0-00002.m4s', '2a');
    expect(out.video).toEqual(['I', '1a']);
  });
});
