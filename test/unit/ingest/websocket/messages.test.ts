import { describe, expect, it } from 'vitest';
import { parseControlMessage, startsWithEbmlHeader } from '../../../../src/ingest/websocket/messages.ts';

describe('parseControlMessage', () => {
  it.each([
    { type: 'hello', mimeType: 'video/webm' },
    {
      type: 'hello',
      mimeType: 'video/x-matroska;codecs=avc1,opus',
      keyframeIntervalMs: 1000,
      width: 1280,
      height: 720,
      fps: 29.97,
      client: 'capture.html',
    },
  ])('accepts %j', (hello) => {
    expect(parseControlMessage(JSON.stringify(hello))).toEqual({ hello });
  });

  it.each([
    { what: 'not JSON', text: 'hello', error: 'not JSON' },
    { what: 'truncated JSON', text: '{"type":"hello"', error: 'not JSON' },
    { what: 'a JSON string', text: '"hello"', error: 'expected {"type":"hello"' },
    { what: 'null', text: 'null', error: 'expected {"type":"hello"' },
    { what: 'an array', text: '[{"type":"hello"}]', error: 'expected {"type":"hello"' },
    {
      what: 'the wrong type',
      text: '{"type":"start","mimeType":"video/webm"}',
      error: 'expected {"type":"hello"',
    },
    { what: 'no mimeType', text: '{"type":"hello"}', error: '/mimeType' },
    { what: 'an empty mimeType', text: '{"type":"hello","mimeType":""}', error: '/mimeType' },
    { what: 'a numeric mimeType', text: '{"type":"hello","mimeType":5}', error: '/mimeType' },
    {
      what: 'an extra property',
      text: '{"type":"hello","mimeType":"video/webm","token":"x"}',
      error: '/token Unexpected property',
    },
    { what: 'width 0', text: '{"type":"hello","mimeType":"video/webm","width":0}', error: '/width' },
    { what: 'width 1.5', text: '{"type":"hello","mimeType":"video/webm","width":1.5}', error: '/width' },
    {
      what: 'keyframeIntervalMs 0',
      text: '{"type":"hello","mimeType":"video/webm","keyframeIntervalMs":0}',
      error: '/keyframeIntervalMs',
    },
    { what: 'fps as a string', text: '{"type":"hello","mimeType":"video/webm","fps":"30"}', error: '/fps' },
  ])('rejects $what', ({ text, error }) => {
    const result = parseControlMessage(text);
    expect(result).toHaveProperty('error');
    expect((result as { error: string }).error).toContain(error);
  });
});

describe('startsWithEbmlHeader', () => {
  it.each([
    { what: 'an EBML header', bytes: [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86], expected: true },
    { what: 'exactly the 4 ID bytes', bytes: [0x1a, 0x45, 0xdf, 0xa3], expected: true },
    { what: 'a Matroska Cluster', bytes: [0x1f, 0x43, 0xb6, 0x75, 0x01], expected: false },
    { what: 'an MP4 ftyp box', bytes: [0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70], expected: false },
    { what: 'three bytes', bytes: [0x1a, 0x45, 0xdf], expected: false },
    { what: 'nothing', bytes: [], expected: false },
  ])('$what → $expected', ({ bytes, expected }) => {
    expect(startsWithEbmlHeader(Buffer.from(bytes))).toBe(expected);
  });
});
