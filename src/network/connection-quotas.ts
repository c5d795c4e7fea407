// Connection limits as Kafka's `max.connections`, `max.connections.per.ip` and
// `max.connections.per.ip.overrides` set them (Kafka's ConnectionQuotas). A connection over a
// limit is closed as soon as it is accepted and the refusal logged; the others are untouched.
// Kafka's acceptor waits for a free slot when the broker-wide limit is reached (the connection
// stays in the listen backlog); here it is closed at once, so a flood never parks sockets.

import { isIP } from 'node:net';

export interface ConnectionLimitSettings {
  /** `max.connections`: connections open at once on this broker. */
  readonly maxConnections: number;
  /** `max.connections.per.ip`. */
  readonly maxConnectionsPerIp: number;
  /** `max.connections.per.ip.overrides`, by address. */
  readonly perIpOverrides: ReadonlyMap<string, number>;
}

/**
 * Parses `max.connections.per.ip.overrides`: `host:count` pairs separated by commas (an IPv6
 * address may be written bracketed). Throws with the bad entry named.
 */
export function parsePerIpOverrides(value: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const i = entry.lastIndexOf(':');
    const host =
      i > 0
        ? entry
            .slice(0, i)
            .trim()
            .replace(/^\[(.*)\]$/, '$1')
        : '';
    const count = i > 0 ? entry.slice(i + 1).trim() : '';
    if (host === '' || !/^\d+$/.test(count)) throw new Error(`"${entry}" is not host:count`);
    out.set(normalizeAddress(host), Number(count));
  }
  return out;
}

/** An address as compared: IPv4-mapped IPv6 addresses (a dual-stack listener's) as plain IPv4, lower case. */
export function normalizeAddress(address: string): string {
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) return a.slice(7);
  if (a === 'localhost') return '127.0.0.1';
  return a;
}

/** Counts open connections, overall and by address, against the current limits. */
export class ConnectionQuotas {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly settings: () => ConnectionLimitSettings) {}

  get openConnections(): number {
    return this.total;
  }

  /**
   * Takes a slot for a new connection from `address`, or says why it is refused (and takes
   * nothing). Every admitted connection is released once with `release`.
   */
  admit(address: string): string | null {
    const s = this.settings();
    const ip = normalizeAddress(address);
    const fromIp = this.byAddress.get(ip) ?? 0;
    const maxForIp = s.perIpOverrides.get(ip) ?? s.maxConnectionsPerIp;
    if (fromIp >= maxForIp) {
      return `address ${ip} already has the configured maximum of ${maxForIp} connections (max.connections.per.ip${s.perIpOverrides.has(ip) ? '.overrides' : ''})`;
    }
    if (this.total >= s.maxConnections) {
      return `the broker already has the configured maximum of ${s.maxConnections} connections (max.connections)`;
    }
    this.total++;
    this.byAddress.set(ip, fromIp + 1);
    return null;
  }

  release(address: string): void {
    const ip = normalizeAddress(address);
    const n = this.byAddress.get(ip) ?? 0;
    if (n <= 1) this.byAddress.delete(ip);
    else this.byAddress.set(ip, n - 1);
    if (this.total > 0) this.total--;
  }
}
