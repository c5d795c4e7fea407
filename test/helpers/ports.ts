/**
 * Ports for processes that must be told their address before they start (nodes naming each
 * other, a server.properties with fixed listeners). A port the OS picks (listen on 0) comes from
 * the ephemeral range, which the kernel also hands to outgoing connections: between the pick and
 * the process's own bind, any connection made meanwhile (a proxy, a node joining its seeds) may
 * take it, and the process fails with EADDRINUSE. These ports come from below that range, where
 * the kernel never places an outgoing connection or a listen on 0; each is checked free by
 * binding it once.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The lowest ephemeral port (net.ipv4.ip_local_port_range), 32768 where it cannot be read. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 free now and outside the ephemeral range, not handed out before by this process. */
export async function reservedPort(): Promise<number> {
  const high = ephemeralLow() - 1;
  const low = Math.max(1024, high - 12_000);
  for (let tries = 0; tries < 200; tries++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${low}-${high} after 200 tries`);
}

/** `n` distinct such ports. */
export async function reservedPorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await reservedPort());
  return out;
}
