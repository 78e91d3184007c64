import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { AnalysisPlugin } from '../analysis/types.ts';
import { createRelayServer, type RelayServer } from '../app/create-server.ts';
import { defaultAnalyzers } from '../app/default-analyzers.ts';
import { resolveConfig } from '../config/config.ts';
import { loadConfigFile, mergeConfig } from '../config/config-file.ts';
import { defaultAt, readOptions, serveOptions } from '../config/options.ts';
import type { ConfigInput } from '../config/schema.ts';
import { createError } from '../errors/errors.ts';
import { lanAddresses, listensEverywhere, urlHost } from '../tls/machine-names.ts';
import { UsageError } from './usage-error.ts';

const optionLines = serveOptions.map((o) => {
  const left = `  ${o.flag} ${o.valueName}`.trimEnd().padEnd(26);
  const env = o.env ? ` [${o.env}]` : '';
  return `${left}${o.help}${env} (default ${formatDefault(defaultAt(o.path))})`;
});

export const serveHelp = `Usage: dashrelay serve [options]

Runs the relay: WebSocket and RTMP ingest, live MPEG-DASH origin, raw archive, frame analysis, pages.

Options (environment variable in brackets):
  --config <file>         YAML/JSON file with any settings of docs/configuration.md; flags win [DASHRELAY_CONFIG]
${optionLines.join('\n')}
  --analyzer <module>     load an analysis plugin (a module whose default export is an AnalysisPlugin
                          or a function returning one); repeatable. The built-in "motion" always runs.
  --no-analysis           turn frame analysis off
  -h, --help              show this help

Every other setting and its default: docs/configuration.md.
ffmpeg ≥ 5.1 is taken from FFMPEG_PATH, else ffmpeg-static, else ffmpeg on PATH.`;

/** How a default reads in `--help` and the README. */
export function formatDefault(value: unknown): string {
  if (value === undefined) return 'none';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Parses `serve` flags and environment into configuration. @throws UsageError naming the flag. */
export function parseServeArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
):
  | { help: true }
  | {
      help: false;
      config: ConfigInput;
      configFile: string | undefined;
      analyzers: string[];
      noAnalysis: boolean;
    } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...Object.fromEntries(
        serveOptions.map((o) => [
          o.flag.slice(2),
          { type: o.flagOnly ? ('boolean' as const) : ('string' as const) },
        ]),
      ),
      config: { type: 'string' },
      analyzer: { type: 'string', multiple: true },
      'no-analysis': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return { help: true };
  const { analyzer, 'no-analysis': noAnalysis, help: _help, config: configFile, ...given } = values;
  const strings = Object.fromEntries(
    Object.entries(given).map(([k, v]) => [
      k,
      typeof v === 'boolean' ? String(v) : (v as string | undefined),
    ]),
  );
  const read = readOptions(serveOptions, strings, env);
  if ('error' in read) throw new UsageError(read.error);
  return {
    help: false,
    config: read.config,
    configFile: (configFile as string | undefined) ?? (env.DASHRELAY_CONFIG || undefined),
    analyzers: (analyzer as string[] | undefined) ?? [],
    noAnalysis: noAnalysis === true,
  };
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

/**
 * What a person opening the pages from another machine needs: the certificate's fingerprint to compare
 * with the browser's warning, the LAN URLs, and that a camera needs HTTPS off this machine.
 */
function logTls(server: RelayServer, url: string): void {
  const { tls, config, app } = server;
  const port = Number(new URL(url).port);
  const scheme = tls ? 'https' : 'http';
  if (tls) {
    const what = tls.selfSigned
      ? `${tls.created ? 'made a self-signed certificate' : 'self-signed certificate'} ${tls.certFile}`
      : `certificate ${tls.certFile}`;
    app.log.info(`tls:      ${what}, valid until ${tls.validTo.toISOString().slice(0, 10)}`);
    app.log.info(`          SHA-256 ${tls.fingerprint256}`);
    if (tls.selfSigned)
      app.log.info(
        '          browsers warn once about it: compare this fingerprint with the one in the warning, then proceed',
      );
  }
  if (!listensEverywhere(config.server.host)) return;
  for (const address of lanAddresses())
    app.log.info(`lan:      ${scheme}://${urlHost(address, port)}/capture.html`);
  if (!tls)
    app.log.info(
      'note:     browsers on other machines allow the camera only over HTTPS: add --tls-self-signed (or --tls-cert/--tls-key)',
    );
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
  const fromFile = parsed.configFile ? await loadConfigFile(parsed.configFile) : {};
  const config = resolveConfig(mergeConfig(fromFile, parsed.config));
  const server = await createRelayServer({
    config,
    analyzers,
    logger:
      config.log.format === 'pretty'
        ? {
            level: config.log.level,
            transport: {
              target: 'pino-pretty',
              options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,reqId' },
            },
          }
        : { level: config.log.level },
  });
  const url = await server.listen();
  server.app.log.info(`ffmpeg ${server.ffmpeg.version} (${server.ffmpeg.source}: ${server.ffmpeg.path})`);
  server.app.log.info(`streams:  ${url}/`);
  server.app.log.info(`capture:  ${url}/capture.html`);
  server.app.log.info(`publish:  ${url.replace(/^http/, 'ws')}/ingest/<stream>`);
  if (server.rtmpUrl)
    server.app.log.info(
      `rtmp:     ${server.rtmpUrl}/<stream>  (OBS: server ${server.rtmpUrl}, key <stream>)`,
    );
  logTls(server, url);
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
