import { describe, expect, it } from 'vitest';
import {
  AUDIO_BUFFER_FLOOR_S,
  liveDelayOf,
  playerSettings,
  positiveParam,
} from '../../../static/viewer/player-settings.js';

const origin = 'http://relay.test:8080';
const latency = { playerLiveDelayMs: 150, playerLiveDelayWithAudioMs: 300 };
const withAudio = { codecs: { video: 'h264', audio: 'opus' }, latency };
const videoOnly = { codecs: { video: 'h264', audio: 'none' }, latency };
const q = (s = '') => new URLSearchParams(s);

describe('viewer player settings', () => {
  it('targets 1 s with the LoL+ catch-up before the stream is known', () => {
    expect(liveDelayOf(null, q())).toBe(1);
    expect(playerSettings(null, q(), origin)).toEqual({
      streaming: {
        delay: { liveDelay: 1 },
        buffer: { lowLatencyStallThreshold: 0.3 },
        liveCatchup: {
          enabled: true,
          maxDrift: 1,
          playbackRate: { min: -0.3, max: 0.3 },
          mode: 'liveCatchupModeLoLP',
          playbackBufferMin: 0.5,
        },
        utcSynchronization: {
          defaultTimingSource: { scheme: 'urn:mpeg:dash:utc:http-iso:2014', value: `${origin}/time` },
          useManifestDateHeaderTimeSource: false,
        },
      },
    });
  });

  it("takes the server's delay for streams with sound and keeps the audio buffer floor", () => {
    const s = playerSettings(withAudio, q(), origin).streaming;
    expect(s?.delay?.liveDelay).toBe(0.3);
    expect(s?.buffer?.lowLatencyStallThreshold).toBeCloseTo(0.1, 9);
    expect(s?.liveCatchup?.maxDrift).toBe(1);
    expect(s?.liveCatchup?.playbackBufferMin).toBe(AUDIO_BUFFER_FLOOR_S);
  });

  it('takes the shorter delay for video-only streams, with half of it as the buffer floor', () => {
    const s = playerSettings(videoOnly, q(), origin).streaming;
    expect(s?.delay?.liveDelay).toBe(0.15);
    expect(s?.liveCatchup?.playbackBufferMin).toBe(0.075);
  });

  it('lets URL parameters override the delay, the rate range and the catch-up mode', () => {
    const params = q('liveDelay=4&maxRate=0.5&catchup=default');
    expect(liveDelayOf(withAudio, params)).toBe(4);
    const catchup = playerSettings(withAudio, params, origin).streaming?.liveCatchup;
    expect(catchup).toEqual({ enabled: true, maxDrift: 2, playbackRate: { min: -0.5, max: 0.5 } });
  });

  it.each(['0', '-1', 'abc', ''])('ignores ?liveDelay=%s', (value) => {
    expect(positiveParam(q(`liveDelay=${value}`), 'liveDelay')).toBeUndefined();
    expect(liveDelayOf(videoOnly, q(`liveDelay=${value}`))).toBe(0.15);
  });

  it('falls back to 1 s when the server sends no latency mode', () => {
    expect(liveDelayOf({ codecs: { video: 'h264', audio: 'opus' } }, q())).toBe(1);
  });
});
