import { parseArgs } from 'node:util';
import { readSecret } from '../auth/secret.ts';
import { parseDurationS, signToken } from '../auth/tokens.ts';
import { loadConfigFile } from '../config/config-file.ts';
import { createError } from '../errors/errors.ts';
import { isValidStreamName } from '../util/stream-name.ts';
import { UsageError } from './usage-error.ts';

export const tokenHelp = `Usage: dashrelay token --stream <name> [--action publish|play] [--ttl 1h]

Prints a signed token (a JWT, HMAC-SHA256 with the server's secret) that lets its holder publish or
watch one stream until it expires. The server must run with the same secret.

Options (environment variable in brackets):
  --stream <name>        the stream the token is for; * for every stream (required)
  --action <a>           publish (default) | play
  --ttl <duration>       how long it is valid: 90s, 15m, 1h (default), 7d
  --secret <text>        the server's secret [DASHRELAY_SECRET]
  --secret-file <file>   file holding the secret [DASHRELAY_SECRET_FILE]
  --config <file>        take the secret from the server's configuration file [DASHRELAY_CONFIG]
  -h, --help             show this help

Use it as:
  dashrelay publish --stream cam1 --token <token> …
  ws://host:8080/ingest/cam1?token=<token>           (or Authorization: Bearer <token>)
  rtmp://host:1935/live/cam1?token=<token>           (OBS: Server rtmp://host:1935/live, Stream Key cam1?token=<token>)
  http://host:8080/viewer.html?stream=cam1&token=<play token>`;

/** `dashrelay token`: prints the token on stdout (alone, for scripts), what it allows on stderr. */
export async function runToken(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      stream: { type: 'string' },
      action: { type: 'string', default: 'publish' },
      ttl: { type: 'string', default: '1h' },
      secret: { type: 'string' },
      'secret-file': { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(tokenHelp);
    return 0;
  }
  const stream = values.stream;
  if (stream === undefined) throw new UsageError('--stream is required');
  if (stream !== '*' && !isValidStreamName(stream))
    throw new UsageError(`--stream must be 1-64 of A-Z a-z 0-9 _ -, or * (got "${stream}")`);
  const action = values.action;
  if (action !== 'publish' && action !== 'play')
    throw new UsageError(`--action must be publish or play (got "${action}")`);
  const ttlS = parseDurationS(values.ttl);
  if (ttlS === undefined)
    throw new UsageError(`--ttl must be a duration such as 90s, 15m, 1h, 7d (got "${values.ttl}")`);
  const configFile = values.config ?? (env.DASHRELAY_CONFIG || undefined);
  const fromFile = configFile ? ((await loadConfigFile(configFile)).auth ?? {}) : {};
  const secretText = values.secret ?? (env.DASHRELAY_SECRET || undefined);
  const secret = await readSecret({
    secret: secretText ?? fromFile.secret,
    secretFile: values['secret-file'] ?? (env.DASHRELAY_SECRET_FILE || undefined) ?? fromFile.secretFile,
  });
  if (secret === undefined) {
    throw new UsageError(
      'no secret: pass --secret, --secret-file or --config, or set DASHRELAY_SECRET (the one the server runs with)',
    );
  }
  if (secret.length < 16)
    throw createError('DR_ERR_CONFIG_INVALID', 'the secret must be at least 16 characters');
  const token = await signToken(secret, { stream, action }, ttlS);
  const until = new Date(Date.now() + ttlS * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  console.error(
    `${action} token for ${stream === '*' ? 'every stream' : `stream "${stream}"`}, valid until ${until}:`,
  );
  console.log(token);
  return 0;
}
