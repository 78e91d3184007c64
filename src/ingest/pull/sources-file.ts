import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Kind, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { createError } from '../../errors/errors.ts';
import { type PullSource, PullSourceSchema, type SourcesFile, SourcesFileSchema } from './source-schema.ts';

/** Problems listed in one error; a file with more says how many were left out. */
const maxProblems = 10;

/** A problem at a place in the file: `cameras.yaml:4:10 sources[0].rtspTransport: must be …`. */
interface Problem {
  readonly line: number;
  readonly col: number;
  readonly key: string;
  readonly message: string;
}

/** What a sources file may hold. */
export interface SourcesFileLimits {
  /** Entries in `sources` (`limits.maxSources`): each pull is an ffmpeg process. Default: no limit. */
  readonly maxSources?: number | undefined;
}

/**
 * Reads and validates a sources file.
 * @throws DashrelayError `DR_ERR_SOURCES_READ` when it cannot be read, `DR_ERR_SOURCES_INVALID` (see
 * {@link parseSources}), `DR_ERR_SOURCES_TOO_MANY` (see {@link parseSourcesFile}).
 */
export async function loadSourcesFile(path: string, limits: SourcesFileLimits = {}): Promise<SourcesFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw createError('DR_ERR_SOURCES_READ', path, err as Error);
  }
  return parseSourcesFile(text, path, limits);
}

/**
 * Parses a sources file, YAML or JSON (by the extension `.json`, `.yaml`, `.yml`; otherwise JSON when
 * the text starts with `{`), fills in the defaults and checks it against {@link SourcesFileSchema} and
 * that no stream name is used twice.
 * @param fileName shown in messages (its base name).
 * @returns the sources, in file order.
 * @throws DashrelayError `DR_ERR_SOURCES_INVALID` listing each problem (up to 10) as
 * `<file>:<line>:<column> <key path>: <what is wrong>`.
 */
export function parseSources(text: string, fileName: string): PullSource[] {
  return parseSourcesFile(text, fileName).sources;
}

/**
 * {@link parseSources}, with the file's `restream` targets too.
 * @throws DashrelayError `DR_ERR_SOURCES_INVALID` (see {@link parseSources}); `DR_ERR_SOURCES_TOO_MANY`
 * when `sources` has more than `limits.maxSources` entries (checked first: a file that large is not
 * worth validating entry by entry).
 */
export function parseSourcesFile(
  text: string,
  fileName: string,
  limits: SourcesFileLimits = {},
): SourcesFile {
  const shown = basename(fileName);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const fail = (problems: Problem[]): never => {
    const lines = problems
      .slice(0, maxProblems)
      .map((p) => `${shown}:${p.line}:${p.col} ${p.key ? `${p.key}: ` : ''}${p.message}`);
    if (problems.length > maxProblems) lines.push(`… and ${problems.length - maxProblems} more`);
    throw createError('DR_ERR_SOURCES_INVALID', shown, lines.join('\n'));
  };
  const at = (offset: number, key: string, message: string): Problem => ({
    ...lineCounter.linePos(offset),
    key,
    message,
  });

  let data: unknown;
  if (isJson(fileName, text)) {
    try {
      data = JSON.parse(text);
    } catch (err) {
      fail([at(jsonErrorOffset(err as Error, text), '', (err as Error).message)]);
    }
  } else {
    if (doc.errors.length > 0) fail(doc.errors.map((e) => at(e.pos[0], '', firstLine(e.message))));
    data = doc.toJS();
  }
  // An empty file is a file without sources, not an error of the `sources` key.
  if (data === null || data === undefined) data = { sources: [] };
  const entries = (data as { sources?: unknown }).sources;
  if (Array.isArray(entries) && limits.maxSources !== undefined && entries.length > limits.maxSources) {
    throw createError('DR_ERR_SOURCES_TOO_MANY', shown, entries.length, limits.maxSources);
  }

  const filled = Value.Default(SourcesFileSchema, structuredClone(data));
  const problems: Problem[] = [];
  const seenPaths = new Set<string>();
  for (const e of Value.Errors(SourcesFileSchema, filled)) {
    // TypeBox reports a union's branches one by one, and a missing key twice: one line per key.
    if (seenPaths.has(e.path)) continue;
    seenPaths.add(e.path);
    const segments = pathSegments(e.path);
    problems.push(at(locate(doc, segments, text), keyName(segments), describe(e)));
  }
  if (problems.length > 0) fail(problems);

  const file = filled as SourcesFile;
  const { sources } = file;
  const firstOf = new Map<string, number>();
  sources.forEach((s, i) => {
    const first = firstOf.get(s.name);
    if (first !== undefined) {
      problems.push(
        at(
          locate(doc, ['sources', i, 'name'], text),
          keyName(['sources', i, 'name']),
          `stream name "${s.name}" is already used by sources[${first}]`,
        ),
      );
    } else firstOf.set(s.name, i);
    if (s.bitrate !== undefined && s.video !== 'h264') {
      problems.push(
        at(
          locate(doc, ['sources', i, 'bitrate'], text),
          keyName(['sources', i, 'bitrate']),
          "applies only with `video: h264` (a copied stream keeps the camera's bitrate)",
        ),
      );
    }
  });
  if (problems.length > 0) fail(problems);
  return file;
}

function isJson(fileName: string, text: string): boolean {
  const ext = extname(fileName).toLowerCase();
  if (ext === '.json') return true;
  if (ext === '.yaml' || ext === '.yml') return false;
  return text.trimStart().startsWith('{');
}

/** `Unexpected token } in JSON at position 42` (V8) → 42; the end of the text when it gives none. */
function jsonErrorOffset(err: Error, text: string): number {
  const m = /position (\d+)/.exec(err.message);
  return m ? Number(m[1]) : text.length;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** `/sources/0/url` → `['sources', 0, 'url']`. */
function pathSegments(path: string): (string | number)[] {
  return path
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `['sources', 0, 'url']` → `sources[0].url`. */
function keyName(segments: readonly (string | number)[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/**
 * The offset in the text of the deepest node on `segments` that exists: a key (so "unknown key" and
 * "bad value" point at the key's line), an array item, or, for a missing key, the entry it is missing from.
 */
function locate(doc: Document, segments: readonly (string | number)[], text: string): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else break;
  }
  return Math.min(offset, text.length);
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

/** The schema's words for a problem, plainer than TypeBox's for the common cases. */
function describe(e: {
  type: ValueErrorType;
  schema: TSchema;
  value: unknown;
  message: string;
  path: string;
}): string {
  const got = e.value === undefined ? '' : ` (got ${JSON.stringify(e.value)})`;
  if (e.type === ValueErrorType.ObjectRequiredProperty) return 'is required';
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    const known = Object.keys(
      e.path.split('/').length <= 2 ? SourcesFileSchema.properties : PullSourceSchema.properties,
    );
    return `is not a known key (known: ${known.join(', ')})`;
  }
  const literals = literalValues(e.schema);
  if (literals) return `must be one of ${literals.join(', ')}${got}`;
  if (e.path.endsWith('/name') && e.type === ValueErrorType.StringPattern)
    return `must be 1 to 64 letters, digits, "_" or "-"${got}`;
  return `${e.message.replace(/^Expected/, 'must be')}${got}`;
}

function literalValues(schema: TSchema): string[] | undefined {
  if (schema[Kind] !== 'Union') return undefined;
  const values = (schema.anyOf as TSchema[]).map((s) =>
    s[Kind] === 'Literal' ? String(s.const) : undefined,
  );
  return values.every((v) => v !== undefined) ? (values as string[]) : undefined;
}
