import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const ticksPerSecond = 100;

/** CPU time used so far by a process, ms (user + system), or undefined if it is gone. */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Resident set size, bytes. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Direct children of `pid` whose command is `name` (e.g. the server's ffmpeg processes). */
export function childPids(pid: number, name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && comm === name) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** CPU use of a set of processes between two moments, as % of one core. */
export class CpuMeter {
  private readonly start = new Map<number, number>();
  private startedAt = 0;

  begin(pids: readonly number[]): void {
    this.startedAt = Date.now();
    for (const pid of pids) this.start.set(pid, cpuTimeMs(pid) ?? 0);
  }

  /** % of one core used since `begin` by the processes (and any new ones passed now). */
  end(pids: readonly number[]): number {
    const elapsed = Date.now() - this.startedAt;
    let used = 0;
    for (const pid of new Set([...pids, ...this.start.keys()])) {
      const now = cpuTimeMs(pid);
      if (now !== undefined) used += now - (this.start.get(pid) ?? 0);
    }
    return elapsed > 0 ? Math.round((used / elapsed) * 1000) / 10 : 0;
  }
}
