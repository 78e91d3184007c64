import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { createError } from '../errors/errors.ts';
import type { ConfigInput } from './schema.ts';

/**
 * Reads a configuration file (`--config`): YAML or JSON (JSON is YAML), any keys of
 * docs/configuration.md, nested as there (`auth: { publishKeys: { cam1: … } }`). Values are checked
 * later with the rest (flags win over the file), by `resolveConfig`.
 * @throws DashrelayError `DR_ERR_CONFIG_INVALID` when the file cannot be read or parsed, naming the
 * file and, for a syntax error, the line.
 */
export async function loadConfigFile(path: string): Promise<ConfigInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw createError('DR_ERR_CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0].line;
    throw createError(
      'DR_ERR_CONFIG_INVALID',
      `${path}${line ? `:${line}` : ''}: ${first.message.split('\n')[0]}`,
    );
  }
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw createError('DR_ERR_CONFIG_INVALID', `${path}: expected a map of settings at the top`);
  }
  return value as ConfigInput;
}

/** Merges `over` onto `base`, key by key at every depth (objects merge; other values replace). */
export function mergeConfig(base: ConfigInput, over: ConfigInput): ConfigInput {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeConfig(b as ConfigInput, v as ConfigInput) : v;
  }
  return out as ConfigInput;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
