import ipaddr from 'ipaddr.js';
import {
  lanAddresses,
  listensEverywhere,
  type MachineNames,
  machineNames,
  urlHost,
} from '../tls/machine-names.ts';

/** What a request says about how it reached the server (fastify's `req.protocol`, `req.host`). */
export interface RequestOrigin {
  /** `http` or `https` (from X-Forwarded-Proto only with `server.trustProxy`). */
  readonly protocol: string;
  /** The `Host` header (or X-Forwarded-Host with `server.trustProxy`): `name`, `name:port`, `[v6]:port`. */
  readonly host: string;
}

export interface PublicBaseUrlOptions {
  /** `server.publicUrl`: when set, every answer (`https://cams.example.org`). */
  readonly publicUrl?: string | undefined;
  /** `server.trustProxy` is on: the proxy vouches for the forwarded host. */
  readonly trustProxy: boolean;
  /** `http` or `https`: what this server speaks. */
  readonly scheme: 'http' | 'https';
  /** The address the server listens on (`server.host`). */
  readonly listenHost: string;
  /** The port it listens on, once known. */
  readonly port: () => number;
  /** This machine's names and addresses. Default {@link machineNames}, looked up at most every 10 s. */
  readonly names?: () => MachineNames;
  /** Told once per host that is not this machine's, so the operator learns to set `--public-url`. */
  readonly onUnknownHost?: (host: string) => void;
}

const namesTtlMs = 10_000;

/**
 * The base URL (`scheme://host:port`, no trailing slash) a response's absolute URLs use, such as the
 * MPD's UTCTiming (ISO/IEC 23009-1 §5.8.4.11): `server.publicUrl` when set; the forwarded host behind a
 * trusted proxy; else the request's `Host` only when it names this machine (localhost, its host name
 * with or without a domain such as `pi.lan` or `pi.local`, one of its addresses, or the listen address)
 * at the port it listens on. Any other `Host` (`evil.example:6666`) is never echoed: the listener's own
 * URL is used, on the first LAN address when it listens on all of them.
 * @returns a function of the request, cheap enough for every MPD request.
 */
export function publicBaseUrl(opts: PublicBaseUrlOptions): (req: RequestOrigin) => string {
  let names: { at: number; value: MachineNames } | undefined;
  const current = (): MachineNames => {
    const now = Date.now();
    if (!names || now - names.at > namesTtlMs) names = { at: now, value: (opts.names ?? machineNames)() };
    return names.value;
  };
  const warned = new Set<string>();
  const listenerUrl = (): string => {
    const host = listensEverywhere(opts.listenHost) ? (lanAddresses()[0] ?? '127.0.0.1') : opts.listenHost;
    return `${opts.scheme}://${urlHost(host, opts.port())}`;
  };
  return (req) => {
    if (opts.publicUrl) return opts.publicUrl.replace(/\/+$/, '');
    if (opts.trustProxy) return `${req.protocol}://${req.host}`;
    const parsed = splitHost(req.host);
    if (parsed && parsed.port === opts.port() && isOwnName(parsed.name, current(), opts.listenHost)) {
      return `${opts.scheme}://${urlHost(parsed.name, parsed.port)}`;
    }
    if (!warned.has(req.host) && warned.size < 100) {
      warned.add(req.host);
      opts.onUnknownHost?.(req.host);
    }
    return listenerUrl();
  };
}

/**
 * `name:port` or `[v6]:port` split into a lower-case name (brackets removed) and a port; a missing
 * port is the scheme's default, left to the caller as 0. `undefined` for anything malformed.
 */
export function splitHost(host: string): { name: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(host);
  if (!m) return undefined;
  const name = (m[1] ?? m[2] ?? '').toLowerCase().replace(/\.$/, '');
  return { name, port: m[3] === undefined ? 0 : Number(m[3]) };
}

/** Whether `name` is this machine: localhost, an own address, the listen address, or the host name with any domain. */
export function isOwnName(name: string, names: MachineNames, listenHost: string): boolean {
  if (!listensEverywhere(listenHost) && name === listenHost.toLowerCase()) return true;
  if (ipaddr.isValid(name)) {
    const ip = ipaddr.process(name).toString();
    return names.ipAddresses.some((a) => ipaddr.isValid(a) && ipaddr.process(a).toString() === ip);
  }
  return names.dnsNames.some((own) => name === own || (own !== 'localhost' && name.startsWith(`${own}.`)));
}
