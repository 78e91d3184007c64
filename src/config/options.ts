import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { defaultConfig } from './config.ts';
import { type ConfigInput, ConfigSchema } from './schema.ts';

/** A command-line flag (and maybe an environment variable) that sets one configuration key. */
export interface ConfigOption {
  /** `--port`. */
  readonly flag: string;
  /** `PORT`: read when the flag is absent; an empty value counts as unset. */
  readonly env?: string;
  /** The key it sets, `server.port`. */
  readonly path: string;
  /** Shown after the flag in `--help`: `<n>`. */
  readonly valueName: string;
  /** One line for `--help`. */
  readonly help: string;
  /** A flag that takes no value (`--tls-self-signed`): present means `true`. */
  readonly flagOnly?: true;
}

/** The flags of `dashrelay serve`; `--help`, the README table and parsing all come from this list. */
export const serveOptions: readonly ConfigOption[] = [
  { flag: '--host', env: 'HOST', path: 'server.host', valueName: '<addr>', help: 'address to listen on' },
  { flag: '--port', env: 'PORT', path: 'server.port', valueName: '<n>', help: 'TCP port' },
  {
    flag: '--trust-proxy',
    env: 'TRUST_PROXY',
    path: 'server.trustProxy',
    valueName: '<v>',
    help: 'behind a reverse proxy: true, or its addresses/CIDRs',
  },
  {
    flag: '--rtmp-port',
    env: 'RTMP_PORT',
    path: 'rtmp.port',
    valueName: '<n>',
    help: 'RTMP ingest TCP port',
  },
  {
    flag: '--rtmp',
    env: 'RTMP',
    path: 'rtmp.enabled',
    valueName: '<bool>',
    help: 'accept RTMP publishers: true | false',
  },
  {
    flag: '--sources',
    env: 'SOURCES',
    path: 'sources.file',
    valueName: '<file>',
    help: 'YAML/JSON file of streams to pull (IP cameras over RTSP, HTTP, ffmpeg inputs)',
  },
  {
    flag: '--output',
    env: 'OUTPUT_DIR',
    path: 'outputDir',
    valueName: '<dir>',
    help: 'where live DASH copies and archives go',
  },
  {
    flag: '--latency',
    env: 'LATENCY',
    path: 'latency.mode',
    valueName: '<mode>',
    help: 'low (1 s chunked segments, ~0.2 s) | normal (2 s segments, ~6 s)',
  },
  {
    flag: '--analysis-fps',
    path: 'analysis.fps',
    valueName: '<n>',
    help: 'frames per second given to analysis plugins',
  },
  { flag: '--analysis-width', path: 'analysis.widthPx', valueName: '<px>', help: 'width of analysis frames' },
  {
    flag: '--secret',
    env: 'DASHRELAY_SECRET',
    path: 'auth.secret',
    valueName: '<text>',
    help: 'secret that signs publish/play tokens (16+ characters)',
  },
  {
    flag: '--secret-file',
    env: 'DASHRELAY_SECRET_FILE',
    path: 'auth.secretFile',
    valueName: '<file>',
    help: 'file holding the secret',
  },
  {
    flag: '--anonymous-publish',
    env: 'DASHRELAY_ANONYMOUS_PUBLISH',
    path: 'auth.anonymousPublish',
    valueName: '<v>',
    help: 'true: accept publishers without a credential (unset: only on loopback, none configured)',
  },
  {
    flag: '--play-tokens',
    env: 'DASHRELAY_PLAY_TOKENS',
    path: 'auth.playTokens',
    valueName: '<v>',
    help: 'viewers need a play token: off | all | stream names, comma-separated',
  },
  {
    flag: '--admin-token',
    env: 'DASHRELAY_ADMIN_TOKEN',
    path: 'auth.adminToken',
    valueName: '<text>',
    help: 'token the API asks for changes, and off loopback (16+ characters)',
  },
  {
    flag: '--public-url',
    env: 'DASHRELAY_PUBLIC_URL',
    path: 'server.publicUrl',
    valueName: '<url>',
    help: "the server's URL as viewers reach it (https://cams.example.org)",
  },
  {
    flag: '--tls-cert',
    env: 'DASHRELAY_TLS_CERT',
    path: 'server.tlsCert',
    valueName: '<file>',
    help: 'PEM certificate: serve HTTPS and WSS',
  },
  {
    flag: '--tls-key',
    env: 'DASHRELAY_TLS_KEY',
    path: 'server.tlsKey',
    valueName: '<file>',
    help: 'PEM key of --tls-cert',
  },
  {
    flag: '--tls-self-signed',
    path: 'server.tlsSelfSigned',
    valueName: '',
    help: 'serve HTTPS with a self-signed certificate made once for this machine',
    flagOnly: true,
  },
  { flag: '--log-level', env: 'LOG_LEVEL', path: 'log.level', valueName: '<level>', help: 'pino log level' },
  { flag: '--log-format', env: 'LOG_FORMAT', path: 'log.format', valueName: '<fmt>', help: 'pretty | json' },
];

/** The schema of the key at `path` (`server.port`). @throws Error for a path the schema lacks. */
export function schemaAt(path: string): TSchema {
  let node: TSchema = ConfigSchema;
  for (const key of path.split('.')) {
    const next: TSchema | undefined = (node.properties as Record<string, TSchema> | undefined)?.[key];
    if (!next) throw new Error(`no configuration key ${path}`);
    node = next;
  }
  return node;
}

/** The default of the key at `path`. */
export function defaultAt(path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], defaultConfig);
}

/** What a key accepts, in words: `an integer from 0 to 65535`, `one of low, normal`. */
export function describeConstraint(schema: TSchema): string {
  const literals = literalsOf(schema);
  if (literals) return `one of ${literals.join(', ')}`;
  if (schema[Kind] === 'Union') return (schema.anyOf as TSchema[]).map(describeConstraint).join(', or ');
  const { minimum, maximum, exclusiveMinimum } = schema as Record<string, number | undefined>;
  switch (schema[Kind]) {
    case 'Integer':
      return `an integer from ${minimum ?? '-∞'} to ${maximum ?? '∞'}`;
    case 'Number':
      return `a number in ${exclusiveMinimum !== undefined ? `(${exclusiveMinimum}` : `[${minimum ?? '-∞'}`}, ${maximum ?? '∞'}]`;
    case 'Boolean':
      return 'true or false';
    case 'Array':
      return 'a list';
    case 'Record':
      return 'a map of stream name to text';
    case 'Literal':
      return JSON.stringify(schema.const);
    default:
      return 'a non-empty string';
  }
}

/**
 * Reads command-line values (by flag, as `util.parseArgs` gives them) and environment variables into
 * a partial configuration. Text is converted by the key's schema type and checked against the schema.
 * @returns the configuration, or the first problem as `--flag must … (got "…")`.
 */
export function readOptions(
  options: readonly ConfigOption[],
  values: Readonly<Record<string, string | undefined>>,
  env: NodeJS.ProcessEnv,
): { config: ConfigInput } | { error: string } {
  const config: Record<string, unknown> = {};
  for (const option of options) {
    const text = values[option.flag.slice(2)] ?? (option.env ? env[option.env] || undefined : undefined);
    if (text === undefined) continue;
    const schema = schemaAt(option.path);
    const value = fromText(schema, text);
    if (value === undefined || !Value.Check(schema, value)) {
      return { error: `${option.flag} must be ${describeConstraint(schema)} (got "${text}")` };
    }
    setAt(config, option.path, value);
  }
  return { config: config as ConfigInput };
}

function fromText(schema: TSchema, text: string): unknown {
  switch (schema[Kind]) {
    case 'Integer':
      return /^-?\d+$/.test(text.trim()) ? Number(text) : undefined;
    case 'Number': {
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
    }
    case 'Boolean':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case 'Union': {
      // A union of a boolean and a string (trustProxy): the words true/false are the boolean.
      const anyOf = schema.anyOf as TSchema[];
      if (anyOf.some((s) => s[Kind] === 'Boolean') && (text === 'true' || text === 'false'))
        return text === 'true';
      // A word, or a list (playTokens: off | all | cam1,cam2): a listed word is the word.
      if (anyOf.some((s) => s[Kind] === 'Literal' && s.const === text)) return text;
      if (anyOf.some((s) => s[Kind] === 'Array')) return text.split(',').map((t) => t.trim());
      return text;
    }
    default:
      return text;
  }
}

function literalsOf(schema: TSchema): string[] | undefined {
  if (schema[Kind] !== 'Union') return undefined;
  const values = (schema.anyOf as TSchema[]).map((s) =>
    s[Kind] === 'Literal' ? String(s.const) : undefined,
  );
  return values.every((v) => v !== undefined) ? (values as string[]) : undefined;
}

function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = target;
  for (const key of keys) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[last] = value;
}
