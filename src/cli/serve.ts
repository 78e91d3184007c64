import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { AnalysisPlugin } from '../analysis/types.ts';
import { createRelayServer } from '../app/create-server.ts';
import { defaultAnalyzers } from '../app/default-analyzers.ts';
import { defaultServerConfig, latencyModes, type ServerConfig } from '../config/config.ts';
import { createError } from '../errors/errors.ts';
import { UsageError } from './usage-error.ts';

export const serveHelp = `Usage: dashrelay serve [options]

Runs the relay: WebSocket ingest, live MPEG-DASH origin, raw archive, frame analysis, pages.

Options (environment variable in brackets):
  --host <addr>        address to listen on [HOST] (default ${defaultServerConfig.host})
  --port <n>           TCP port [PORT] (default ${defaultServerConfig.port})
  --output <dir>       where live DASH copies and archives go [OUTPUT_DIR] (default ${defaultServerConfig.outputDir})
  --latency <mode>     low | normal [LATENCY] (default ${defaultServerConfig.latency})
                         low:    1 s segments, chunked CMAF, ~1 s player delay
                         normal: 2 s segments, whole segments, ~6 s player delay (poor networks)
  --analysis-fps <n>   frames per second given to analysis plugins (default ${defaultServerConfig.analysisFps})
  --analysis-width <px> width of analysis frames (default ${defaultServerConfig.analysisWidthPx})
  --analyzer <module>  load an analysis plugin (a module whose default export is an AnalysisPlugin
                       or a function returning one); repeatable. The built-in "motion" always runs.
  --no-analysis        turn frame analysis off
  --trust-proxy <v>    behind a reverse proxy: true, or the proxy addresses/CIDRs, comma-separated
                       [TRUST_PROXY] (default false): honour X-Forwarded-Proto/Host/For
  -h, --help           show this help

ffmpeg ≥ 5.1 is taken from FFMPEG_PATH, else ffmpeg-static, else ffmpeg on PATH.`;

/** Parses `serve` flags and environment into config overrides. @throws UsageError naming the flag. */
export function parseServeArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { help: true } | { help: false; config: Partial<ServerConfig>; analyzers: string[]; noAnalysis: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      output: { type: 'string' },
      latency: { type: 'string' },
      'analysis-fps': { type: 'string' },
      'analysis-width': { type: 'string' },
      'trust-proxy': { type: 'string' },
      analyzer: { type: 'string', multiple: true },
      'no-analysis': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return { help: true };
  const config: Partial<ServerConfig> = {};
  // An empty environment variable counts as unset.
  const fromEnv = (name: string): string | undefined => env[name] || undefined;
  const host = values.host ?? fromEnv('HOST');
  if (host !== undefined) config.host = host;
  const port = values.port ?? fromEnv('PORT');
  if (port !== undefined) config.port = toInt('--port', port, 0, 65535);
  const output = values.output ?? fromEnv('OUTPUT_DIR');
  if (output !== undefined) config.outputDir = output;
  const latency = values.latency ?? fromEnv('LATENCY');
  if (latency !== undefined) {
    if (!(latencyModes as readonly string[]).includes(latency)) {
      throw new UsageError(`--latency must be one of ${latencyModes.join(', ')} (got "${latency}")`);
    }
    config.latency = latency as ServerConfig['latency'];
  }
  if (values['analysis-fps'] !== undefined) {
    const fps = Number(values['analysis-fps']);
    if (!(fps > 0 && fps <= 60))
      throw new UsageError(`--analysis-fps must be a number in (0, 60] (got "${values['analysis-fps']}")`);
    config.analysisFps = fps;
  }
  const trustProxy = values['trust-proxy'] ?? fromEnv('TRUST_PROXY');
  if (trustProxy !== undefined) {
    config.trustProxy = trustProxy === 'true' ? true : trustProxy === 'false' ? false : trustProxy;
  }
  if (values['analysis-width'] !== undefined) {
    config.analysisWidthPx = toInt('--analysis-width', values['analysis-width'], 16, 3840);
  }
  return {
    help: false,
    config,
    analyzers: values.analyzer ?? [],
    noAnalysis: values['no-analysis'] ?? false,
  };
}

function toInt(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max} (got "${text}")`);
  }
  return n;
}

/**
 * Loads an analyzer module: its default export is an {@link AnalysisPlugin}, or a function returning one.
 * @throws DashrelayError `DR_ERR_ANALYZER_LOAD`.
 */
export async function loadAnalyzer(modulePath: string): Promise<AnalysisPlugin> {
  const url = pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(modulePath)).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw createError('DR_ERR_ANALYZER_LOAD', modulePath, (err as Error).message);
  }
  let plugin = mod.default;
  if (typeof plugin === 'function') plugin = await (plugin as () => unknown)();
  const p = plugin as Partial<AnalysisPlugin> | undefined;
  if (!p || typeof p.name !== 'string' || typeof p.open !== 'function') {
    throw createError(
      'DR_ERR_ANALYZER_LOAD',
      modulePath,
      'the default export must be { name, open(ctx) } or a function returning it',
    );
  }
  return p as AnalysisPlugin;
}

/** `dashrelay serve`. Resolves when the server has shut down after SIGINT/SIGTERM. */
export async function runServe(argv: readonly string[]): Promise<number> {
  const parsed = parseServeArgs(argv, process.env);
  if (parsed.help) {
    console.log(serveHelp);
    return 0;
  }
  const analyzers = parsed.noAnalysis
    ? []
    : [...defaultAnalyzers(), ...(await Promise.all(parsed.analyzers.map(loadAnalyzer)))];
  const pretty = process.env.LOG_FORMAT !== 'json';
  const server = await createRelayServer({
    ...parsed.config,
    analyzers,
    logger: pretty
      ? {
          level: process.env.LOG_LEVEL ?? 'info',
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,reqId' },
          },
        }
      : { level: process.env.LOG_LEVEL ?? 'info' },
  });
  const url = await server.listen();
  server.app.log.info(`ffmpeg ${server.ffmpeg.version} (${server.ffmpeg.source}: ${server.ffmpeg.path})`);
  server.app.log.info(`streams:  ${url}/`);
  server.app.log.info(`capture:  ${url}/capture.html`);
  server.app.log.info(`publish:  ${url.replace(/^http/, 'ws')}/ingest/<stream>`);
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      server.app.log.info(
        `${signal}: shutting down (telling publishers, finishing segments, closing archives)`,
      );
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolveStop);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
