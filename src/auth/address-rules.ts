import ipaddr from 'ipaddr.js';

/** One `allow`/`deny` rule: the action and the range it matches (`all` matches every address). */
interface Rule {
  readonly verdict: 'allow' | 'deny';
  readonly range: 'all' | [ipaddr.IPv4 | ipaddr.IPv6, number];
  readonly text: string;
}

/**
 * nginx-style address rules (`allow 192.168.1.20`, `deny 10.0.0.0/8`, `deny all`): read top to
 * bottom, the first rule that matches decides; an address no rule matches is allowed. IPv4-mapped
 * IPv6 addresses (`::ffff:10.0.0.5`, what a dual-stack socket reports) count as their IPv4 address.
 */
export class AddressRules {
  private readonly rules: readonly Rule[];

  /** @throws Error naming a rule that does not parse (the schema's pattern lets through e.g. `1.2.3.999`). */
  constructor(rules: readonly string[]) {
    this.rules = rules.map((text) => {
      const [verdict, target = ''] = text.trim().split(/\s+/);
      if (verdict !== 'allow' && verdict !== 'deny') throw new Error(`bad rule "${text}"`);
      if (target === 'all') return { verdict, range: 'all', text };
      try {
        const range = target.includes('/')
          ? ipaddr.parseCIDR(target)
          : (() => {
              const a = ipaddr.parse(target);
              return [a, a.kind() === 'ipv4' ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number];
            })();
        return { verdict, range: [normalize(range[0]), range[1] - (isMapped(range[0]) ? 96 : 0)], text };
      } catch {
        throw new Error(`bad address in rule "${text}"`);
      }
    });
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The first rule matching `address` (its text, for the log), or `undefined`: allowed. */
  denies(address: string): string | undefined {
    let addr: ipaddr.IPv4 | ipaddr.IPv6 | undefined;
    try {
      addr = ipaddr.process(address);
    } catch {
      addr = undefined;
    }
    for (const rule of this.rules) {
      const hit =
        rule.range === 'all' ||
        (addr !== undefined && addr.kind() === rule.range[0].kind() && addr.match(rule.range));
      if (hit) return rule.verdict === 'deny' ? rule.text : undefined;
    }
    return undefined;
  }
}

function isMapped(a: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress();
}

function normalize(a: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return isMapped(a) ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

/** Whether `address` is this machine's loopback (127.0.0.0/8, ::1, or IPv4-mapped 127.x). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  try {
    return ipaddr.process(address).range() === 'loopback';
  } catch {
    return false;
  }
}

/** Whether a listen address (`server.host`) is loopback only: `127.x`, `::1`, `localhost`. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}
