import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import ipaddr from 'ipaddr.js';

/** One end of a TCP connection: an IP address as Node prints it (`127.0.0.1`, `::1`, `::ffff:127.0.0.1`) and a port. */
export interface TcpEndpoint {
  readonly address: string;
  readonly port: number;
}

/** The kernel's socket tables, one per address family (Linux, `proc(5)`). */
const tables = { 4: 'net/tcp', 6: 'net/tcp6' } as const;

/**
 * An endpoint as Linux prints it in `/proc/net/tcp` (`family` 4) or `/proc/net/tcp6` (6):
 * `0100007F:1F90` for 127.0.0.1:8080 on a little-endian machine. The kernel prints each 32-bit word
 * of the address, which is in network order in memory, as a host-order integer (`%08X`), so on a
 * little-endian CPU every 4-byte group comes out reversed; the port is printed as a number (`%04X`).
 * An IPv4 address in the IPv6 table is the IPv4-mapped one (`::ffff:a.b.c.d`), as an IPv6 socket
 * connected to an IPv4 address shows it. Returns `undefined` for an address that is not an IP, or an
 * IPv6 address asked for in the IPv4 table.
 */
export function procNetEndpoint(
  endpoint: TcpEndpoint,
  family: 4 | 6,
  littleEndian = endianness() === 'LE',
): string | undefined {
  if (!ipaddr.isValid(endpoint.address)) return undefined;
  // `process` turns ::ffff:a.b.c.d into a.b.c.d: one spelling per address from here on.
  const ip = ipaddr.process(endpoint.address);
  let bytes: number[];
  if (family === 4) {
    if (ip.kind() !== 'ipv4') return undefined;
    bytes = ip.toByteArray();
  } else {
    bytes = (ip.kind() === 'ipv4' ? (ip as ipaddr.IPv4).toIPv4MappedAddress() : ip).toByteArray();
  }
  let hex = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const word = bytes.slice(i, i + 4);
    if (littleEndian) word.reverse();
    hex += word.map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  return `${hex.toUpperCase()}:${endpoint.port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The inode of the socket whose local end is `local` and remote end is `remote`, both in the table's
 * spelling ({@link procNetEndpoint}), in the text of a `/proc/net/tcp` or `/proc/net/tcp6` table
 * (a header line, then `sl local_address rem_address st … uid timeout inode …` per socket). Rows with
 * inode 0 (TIME_WAIT, no longer anyone's file) are skipped. Returns `undefined` when there is none.
 */
export function findSocketInode(table: string, local: string, remote: string): number | undefined {
  // A busy server's table has a row per viewer connection: look for the one row instead of splitting them all.
  const needle = ` ${local.toUpperCase()} ${remote.toUpperCase()} `;
  for (let at = table.indexOf(needle); at >= 0; at = table.indexOf(needle, at + 1)) {
    const start = table.lastIndexOf('\n', at) + 1;
    const end = table.indexOf('\n', at);
    const fields = table
      .slice(start, end < 0 ? undefined : end)
      .trim()
      .split(/\s+/);
    // `sl` first, then the two endpoints: the needle must be those columns, not a later one.
    if (fields[1] !== local.toUpperCase() || fields[2] !== remote.toUpperCase()) continue;
    const inode = Number(fields[9]);
    if (Number.isSafeInteger(inode) && inode > 0) return inode;
  }
  return undefined;
}

/** The inode in a `/proc/<pid>/fd/<n>` link to a socket (`socket:[12345]` → 12345); `undefined` for any other file. */
export function socketInodeOfFdLink(link: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** Whether this system lists its TCP sockets with their inodes (Linux); macOS and the BSDs do not. */
export function procNetTcpAvailable(procDir = '/proc'): boolean {
  return existsSync(`${procDir}/${tables[4]}`);
}

/**
 * The inode of the socket, on this machine and in this network namespace, whose local end is `local`
 * and remote end `remote` (for a connection a server accepted: local = the peer's address and port,
 * remote = the server's). Looks in `/proc/net/tcp`, then `/proc/net/tcp6` (IPv4-mapped addresses).
 * Returns `undefined` when no such socket exists (any more), or the tables cannot be read.
 */
export async function findLocalSocketInode(
  local: TcpEndpoint,
  remote: TcpEndpoint,
  procDir = '/proc',
): Promise<number | undefined> {
  for (const family of [4, 6] as const) {
    const l = procNetEndpoint(local, family);
    const r = procNetEndpoint(remote, family);
    if (!l || !r) continue;
    const table = await readFile(`${procDir}/${tables[family]}`, 'latin1').catch(() => '');
    const inode = findSocketInode(table, l, r);
    if (inode !== undefined) return inode;
  }
  return undefined;
}

/**
 * Whether process `pid` has the socket `inode` open (one of its `/proc/<pid>/fd/*` links is
 * `socket:[<inode>]`). False for a process that does not exist, has exited, or whose descriptors this
 * process may not read (another user's). Never throws.
 */
export async function processHasSocket(pid: number, inode: number, procDir = '/proc'): Promise<boolean> {
  const dir = `${procDir}/${pid}/fd`;
  const fds = await readdir(dir).catch(() => [] as string[]);
  const links = await Promise.all(fds.map((fd) => readlink(`${dir}/${fd}`).catch(() => '')));
  return links.some((link) => socketInodeOfFdLink(link) === inode);
}
