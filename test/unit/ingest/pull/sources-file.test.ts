import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DashrelayError } from '../../../../src/errors/errors.ts';
import { loadSourcesFile, parseSources, parseSourcesFile } from '../../../../src/ingest/pull/sources-file.ts';

/** The error `fn` throws: its code and message. */
function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DashrelayError);
    return err as DashrelayError;
  }
  throw new Error('did not throw');
}

const yaml = `# cameras
sources:
  - name: porch
    url: rtsp://admin:Yijian@2018!@192.168.40.105:554/h264/ch1/main/av_stream
  - name: garage
    url: http://10.0.0.7/mjpeg
    onDemand: true
    closeAfterSeconds: 30
    rtspTransport: udp
    video: h264
    bitrate: 800k
    audio: none
    inputOptions: ["-f", "mpjpeg"]
`;

describe('parseSources', () => {
  it('reads YAML and fills in every default', () => {
    expect(parseSources(yaml, 'cameras.yaml')).toEqual([
      {
        name: 'porch',
        url: 'rtsp://admin:Yijian@2018!@192.168.40.105:554/h264/ch1/main/av_stream',
        onDemand: false,
        closeAfterSeconds: 10,
        rtspTransport: 'tcp',
        video: 'copy',
        audio: 'copy',
      },
      {
        name: 'garage',
        url: 'http://10.0.0.7/mjpeg',
        onDemand: true,
        closeAfterSeconds: 30,
        rtspTransport: 'udp',
        video: 'h264',
        bitrate: '800k',
        audio: 'none',
        inputOptions: ['-f', 'mpjpeg'],
      },
    ]);
  });

  it('reads the same as JSON, by extension or by content', () => {
    const json = JSON.stringify({ sources: [{ name: 'cam', url: 'rtsp://cam/1', onDemand: true }] }, null, 2);
    const expected = [
      {
        name: 'cam',
        url: 'rtsp://cam/1',
        onDemand: true,
        closeAfterSeconds: 10,
        rtspTransport: 'tcp',
        video: 'copy',
        audio: 'copy',
      },
    ];
    expect(parseSources(json, 'cameras.json')).toEqual(expected);
    expect(parseSources(json, 'cameras.conf')).toEqual(expected);
  });

  it('takes an empty file as no sources', () => {
    expect(parseSources('', 'empty.yaml')).toEqual([]);
    expect(parseSources('sources: []\n', 'none.yaml')).toEqual([]);
  });

  it('names the line, the column and the key of a bad value', () => {
    const text = 'sources:\n  - name: cam\n    url: rtsp://cam/1\n    rtspTransport: tpc\n';
    const err = thrown(() => parseSources(text, '/etc/dashrelay/cameras.yaml'));
    expect(err.code).toBe('DR_ERR_SOURCES_INVALID');
    expect(err.message).toContain(
      'cameras.yaml:4:5 sources[0].rtspTransport: must be one of tcp, udp, http (got "tpc")',
    );
  });

  it('names an unknown key, a missing key, a bad stream name and a wrong type, each with its line', () => {
    const text = [
      'sources:',
      '  - name: ok',
      '    url: rtsp://a/1',
      '    ondemand: true', // 4: a typo of onDemand
      '  - name: two', // 5: no url
      '  - name: bad.name', // 6
      '    url: rtsp://b/1',
      '  - name: three',
      '    url: rtsp://c/1',
      '    closeAfterSeconds: soon', // 10
      '',
    ].join('\n');
    const { message } = thrown(() => parseSources(text, 'c.yaml'));
    expect(message).toContain(
      'c.yaml:4:5 sources[0].ondemand: is not a known key (known: name, url, onDemand',
    );
    expect(message).toContain('c.yaml:5:5 sources[1].url: is required');
    expect(message).toContain(
      'c.yaml:6:5 sources[2].name: must be 1 to 64 letters, digits, "_" or "-" (got "bad.name")',
    );
    expect(message).toContain('c.yaml:10:5 sources[3].closeAfterSeconds: must be number (got "soon")');
  });

  it('refuses a stream name used twice, pointing at the second', () => {
    const text = 'sources:\n  - name: cam\n    url: rtsp://a/1\n  - name: cam\n    url: rtsp://b/1\n';
    expect(thrown(() => parseSources(text, 'c.yml')).message).toContain(
      'c.yml:4:5 sources[1].name: stream name "cam" is already used by sources[0]',
    );
  });

  it('refuses a bitrate for copied video', () => {
    const text = 'sources:\n  - name: cam\n    url: rtsp://a/1\n    bitrate: 1M\n';
    expect(thrown(() => parseSources(text, 'c.yaml')).message).toContain(
      'c.yaml:4:5 sources[0].bitrate: applies only with `video: h264`',
    );
  });

  it('gives the line of a YAML error', () => {
    const twice = 'sources:\n  - name: cam\n    url: rtsp://a/1\n    url: rtsp://b/1\n';
    const { code, message } = thrown(() => parseSources(twice, 'c.yaml'));
    expect(code).toBe('DR_ERR_SOURCES_INVALID');
    expect(message).toMatch(/c\.yaml:4:5 Map keys must be unique/);
    const unclosed = 'sources:\n  - name: cam\n    url: "rtsp://a/1\n';
    expect(thrown(() => parseSources(unclosed, 'c.yaml')).message).toMatch(/c\.yaml:\d+:\d+ Missing closing/);
  });

  it('gives the line of a JSON syntax error, and of a JSON key', () => {
    const bad = '{\n  "sources": [\n    { "name": "cam", "url": "rtsp://a/1", }\n  ]\n}\n';
    expect(thrown(() => parseSources(bad, 'c.json')).message).toMatch(/c\.json:3:\d+ /);
    const wrong = '{\n  "sources": [\n    {\n      "name": "cam",\n      "url": 5\n    }\n  ]\n}\n';
    expect(thrown(() => parseSources(wrong, 'c.json')).message).toContain(
      'c.json:5:7 sources[0].url: must be string (got 5)',
    );
  });

  it('refuses a top level that is not `sources:` or `restream:`', () => {
    expect(thrown(() => parseSources('cameras:\n  - name: a\n', 'c.yaml')).message).toContain(
      'c.yaml:1:1 cameras: is not a known key (known: sources, restream)',
    );
  });
});

describe('loadSourcesFile', () => {
  it('reads a file, and says when it cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dashrelay-sources-'));
    try {
      const file = join(dir, 'cameras.yaml');
      await writeFile(file, yaml);
      expect((await loadSourcesFile(file)).sources.map((s) => s.name)).toEqual(['porch', 'garage']);
      await expect(loadSourcesFile(join(dir, 'missing.yaml'))).rejects.toMatchObject({
        code: 'DR_ERR_SOURCES_READ',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the restream list of a sources file', () => {
  it('gives push targets for any stream', () => {
    const text = [
      'sources: []',
      'restream:',
      '  - stream: porch',
      '    url: rtmps://a.rtmps.youtube.com/live2/abcd-efgh',
      '    name: youtube',
      '  - stream: studio',
      '    url: rtmp://backup.lan/live/studio',
      '',
    ].join('\n');
    expect(parseSourcesFile(text, 'c.yaml').restream).toEqual([
      { stream: 'porch', url: 'rtmps://a.rtmps.youtube.com/live2/abcd-efgh', name: 'youtube' },
      { stream: 'studio', url: 'rtmp://backup.lan/live/studio' },
    ]);
    expect(parseSourcesFile('sources: []\n', 'c.yaml').restream).toEqual([]);
  });

  it('names the line of a target that is not RTMP', () => {
    const text = ['restream:', '  - stream: porch', '    url: http://example.com/x', ''].join('\n');
    expect(thrown(() => parseSourcesFile(text, 'c.yaml')).message).toContain('c.yaml:3:');
    expect(thrown(() => parseSourcesFile(text, 'c.yaml')).message).toContain('restream[0].url');
  });
});

describe('the maxSources limit', () => {
  const three = [
    'sources:',
    ...['a', 'b', 'c'].map((n) => `  - { name: ${n}, url: "rtsp://10.0.0.1/${n}" }`),
    '',
  ].join('\n');

  it('refuses a file with more sources than the limit with DR_ERR_SOURCES_TOO_MANY', () => {
    const err = thrown(() => parseSourcesFile(three, '/etc/dashrelay/cameras.yaml', { maxSources: 2 }));
    expect(err.code).toBe('DR_ERR_SOURCES_TOO_MANY');
    expect(err.message).toBe(
      'The sources file cameras.yaml has 3 entries; the limit is 2 (limits.maxSources)',
    );
  });

  it('accepts a file at the limit, and any file without one', () => {
    expect(parseSourcesFile(three, 'c.yaml', { maxSources: 3 }).sources).toHaveLength(3);
    expect(parseSourcesFile(three, 'c.yaml').sources).toHaveLength(3);
  });

  it('is checked by loadSourcesFile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dashrelay-sources-'));
    try {
      const file = join(dir, 'cameras.yaml');
      await writeFile(file, three);
      await expect(loadSourcesFile(file, { maxSources: 1 })).rejects.toMatchObject({
        code: 'DR_ERR_SOURCES_TOO_MANY',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
