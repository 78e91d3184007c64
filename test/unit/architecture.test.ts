import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The direction of imports between `src/` folders (docs/architecture.md). Leaves import only leaves;
 * the stream core knows no protocol, packager or server; adapters (each ingest protocol, each
 * packager, the origin, archive, analysis, restream, API, auth and TLS) never import each other or the core; only the
 * composition root (`app/`) and the entry points wire them together.
 */
const leaves = ['util', 'errors', 'config', 'contracts'];
const shared = [...leaves, 'live', 'media', 'ffmpeg'];
const allowed: Record<string, readonly string[]> = {
  util: ['util'],
  errors: ['errors'],
  contracts: ['contracts'],
  config: ['config', 'errors', 'contracts'],
  core: [...leaves, 'core'],
  live: [...leaves, 'live'],
  media: [...leaves, 'media'],
  ffmpeg: [...leaves, 'ffmpeg'],
  ingest: [...shared, 'ingest'],
  packager: [...shared, 'packager'],
  origin: [...shared, 'origin'],
  archive: [...shared, 'archive'],
  analysis: [...shared, 'analysis'],
  api: [...shared, 'api'],
  restream: [...shared, 'restream'],
  // Who may publish and watch; ingest, origin and api see it only through contracts/access.ts.
  auth: [...leaves, 'auth'],
  // HTTPS certificates (given PEM files, or the self-signed one made in-process).
  tls: [...leaves, 'tls'],
};

const srcDir = new URL('../../src/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `[importing folder, imported folder, file]` for every relative import inside src/. */
function imports(): [string, string, string][] {
  return sourceFiles(srcDir).flatMap((file) => {
    const from = relative(srcDir, file).split('/')[0] ?? '';
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/^(?:import|export)\s[^'"]*?(?:from\s+)?'(\.[^']+)'/gm)].map(([, spec]) => {
      const target = relative(srcDir, join(file, '..', spec ?? ''));
      return [from, target.split('/')[0] ?? '', relative(srcDir, file)] as [string, string, string];
    });
  });
}

describe('import directions in src/', () => {
  const all = imports();

  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(100);
  });

  it.each(Object.keys(allowed))('%s/ imports only what it may', (folder) => {
    const bad = all
      .filter(([from, to]) => from === folder && !allowed[folder]?.includes(to))
      .map(([, to, file]) => `${file} → ${to}/`);
    expect(bad).toEqual([]);
  });

  it('knows every folder of src/', () => {
    const folders = new Set(all.map(([from]) => from).filter((f) => !f.endsWith('.ts')));
    const entries = ['app', 'cli'];
    expect([...folders].filter((f) => !(f in allowed) && !entries.includes(f))).toEqual([]);
  });

  it('one ingest protocol, one packager never imports another', () => {
    const within = (kind: string) =>
      all
        .filter(([from]) => from === kind)
        .map(([, , file]) => file)
        .filter((file, i, files) => files.indexOf(file) === i);
    for (const kind of ['ingest', 'packager']) {
      for (const file of within(kind)) {
        const own = file.split('/')[1];
        const text = readFileSync(join(srcDir, file), 'utf8');
        const others = [...text.matchAll(/from\s+'(\.[^']+)'/g)]
          .map(([, spec]) => relative(srcDir, join(srcDir, file, '..', spec ?? '')).split('/'))
          .filter((parts) => parts[0] === kind && parts[1] !== own && parts.length > 2);
        expect(others, file).toEqual([]);
      }
    }
  });
});
