import { hostname, networkInterfaces } from 'node:os';

/** The names and addresses this machine is reached by, as a self-signed certificate lists them. */
export interface MachineNames {
  /** DNS names, lower case: `localhost`, the host name, and `<hostname>.local` (mDNS) for a bare one. */
  readonly dnsNames: readonly string[];
  /** IP addresses as os.networkInterfaces() spells them (`127.0.0.1`, `::1`, `192.168.1.5`, `fe80::…`). */
  readonly ipAddresses: readonly string[];
}

const dnsLabels = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

/**
 * This machine's names and addresses: `localhost`, `os.hostname()` (and `<name>.local`, which phones
 * resolve over mDNS), 127.0.0.1, ::1 and every address of every interface. A host name that is not a
 * valid DNS name (spaces, underscores) is left out: a certificate cannot name it.
 * @param host the host name (default `os.hostname()`)
 * @param interfaces the interfaces (default `os.networkInterfaces()`)
 */
export function machineNames(
  host: string = hostname(),
  interfaces: NodeJS.Dict<readonly { address: string }[]> = networkInterfaces(),
): MachineNames {
  const dns = new Set(['localhost']);
  const name = host.trim().toLowerCase().replace(/\.$/, '');
  if (dnsLabels.test(name)) {
    dns.add(name);
    if (!name.includes('.')) dns.add(`${name}.local`);
  }
  const ips = new Set(['127.0.0.1', '::1']);
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) ips.add(a.address.replace(/%.*$/, ''));
  }
  return { dnsNames: [...dns], ipAddresses: [...ips] };
}

/**
 * The addresses other machines on the LAN reach this one by: every non-internal IPv4 address, then the
 * IPv6 ones that are not link-local (a browser cannot open `https://[fe80::…]` without a zone).
 * @returns addresses in interface order, e.g. `['192.168.1.5', 'fd00::2']`; `[]` when offline
 */
export function lanAddresses(
  interfaces: NodeJS.Dict<
    readonly { address: string; family: string | number; internal: boolean }[]
  > = networkInterfaces(),
): string[] {
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const isV4 = (a: { family: string | number }) => a.family === 'IPv4' || a.family === 4;
  const external = all.filter((a) => !a.internal);
  return [
    ...external.filter(isV4).map((a) => a.address),
    ...external.filter((a) => !isV4(a) && !/^fe80:/i.test(a.address)).map((a) => a.address),
  ].filter((a, i, list) => list.indexOf(a) === i);
}

/** Whether a listen address is the unspecified one (`0.0.0.0`, `::`): every interface of the machine. */
export function listensEverywhere(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** `host:port` for a URL: IPv6 addresses in brackets. */
export function urlHost(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
