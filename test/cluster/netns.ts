import { spawnSync } from 'node:child_process';
import { requireCommand } from '../helpers/run.js';

/**
 * Packet-level faults with Linux network namespaces (root only): a bridge in a namespace of its
 * own, one namespace per node, each joined to the bridge by a veth pair, and the test's own
 * namespace joined the same way (it runs the clients). Partitions are iptables DROP rules inside
 * a node's namespace: packets vanish, no connection is reset, as on a real network. Everything
 * is named with a per-run tag and removed by `destroy()`; nothing touches other interfaces.
 *
 * Not here: packet delay and loss with `tc qdisc ... netem` need the kernel's sch_netem, which
 * some kernels (containers among them) lack; the TCP fault proxy covers delay at the stream level.
 */
export interface NetnsLayout {
  readonly tag: string;
  /** The clients' address (the test's own namespace). */
  readonly clientAddress: string;
  readonly nodes: ReadonlyArray<{ id: number; namespace: string; address: string }>;
  /** Drops every packet between the clients and node `id` (both ways) until `heal`. */
  partitionFromClients(id: number): void;
  /** Drops every packet between node `id` and the other nodes (both ways); clients still reach it. */
  isolateFromNodes(id: number): void;
  heal(id: number): void;
  destroy(): void;
}

export const NETNS_TOOLS = ['ip', 'iptables'] as const;

/** Throws, naming what is missing, unless this process can build namespaces (root and the tools). */
export function requireNetnsSupport(): void {
  if (process.getuid?.() !== 0) throw new Error('network-namespace faults need root (CI runs as root)');
  for (const tool of NETNS_TOOLS) requireCommand(tool);
}

function sh(args: readonly string[], allowFail = false): string {
  const [cmd, ...rest] = args as [string, ...string[]];
  const r = spawnSync(cmd, rest, { encoding: 'utf8', timeout: 10_000 });
  if (!allowFail && (r.status !== 0 || r.error !== undefined))
    throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr || r.error?.message}`);
  return r.stdout;
}

export function createNetnsLayout(nodeCount: number): NetnsLayout {
  requireNetnsSupport();
  // Short: interface names are at most 15 bytes.
  const tag = (process.pid % 10_000).toString(36) + Math.floor(Math.random() * 36 ** 2).toString(36);
  const subnet = `10.${200 + (process.pid % 50)}.${Math.floor(Math.random() * 250)}`;
  const bridgeNs = `jk${tag}br`;
  const created: string[] = [];
  const rootVeth = `jk${tag}c`;
  const destroy = () => {
    process.off('exit', destroy);
    sh(['ip', 'link', 'del', rootVeth], true);
    for (const ns of created.splice(0).reverse()) sh(['ip', 'netns', 'del', ns], true);
  };
  // A test process that dies before its cleanup still removes what it made.
  process.once('exit', destroy);
  try {
    sh(['ip', 'netns', 'add', bridgeNs]);
    created.push(bridgeNs);
    sh(['ip', '-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    sh(['ip', '-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    const join = (inside: string, namespace: string | null, address: string) => {
      const peer = `${inside}p`;
      sh(['ip', 'link', 'add', inside, 'type', 'veth', 'peer', 'name', peer]);
      sh(['ip', 'link', 'set', peer, 'netns', bridgeNs]);
      sh(['ip', '-n', bridgeNs, 'link', 'set', peer, 'master', 'br0']);
      sh(['ip', '-n', bridgeNs, 'link', 'set', peer, 'up']);
      const inNs = namespace === null ? ['ip'] : ['ip', '-n', namespace];
      if (namespace !== null) sh(['ip', 'link', 'set', inside, 'netns', namespace]);
      sh([...inNs, 'addr', 'add', `${address}/24`, 'dev', inside]);
      sh([...inNs, 'link', 'set', inside, 'up']);
      if (namespace !== null) sh([...inNs, 'link', 'set', 'lo', 'up']);
    };
    const clientAddress = `${subnet}.1`;
    join(rootVeth, null, clientAddress);
    const nodes: Array<{ id: number; namespace: string; address: string }> = [];
    for (let id = 1; id <= nodeCount; id++) {
      const namespace = `jk${tag}n${id}`;
      sh(['ip', 'netns', 'add', namespace]);
      created.push(namespace);
      const address = `${subnet}.${10 + id}`;
      join(`jk${tag}v${id}`, namespace, address);
      nodes.push({ id, namespace, address });
    }
    const node = (id: number) => {
      const n = nodes.find((x) => x.id === id);
      if (n === undefined) throw new Error(`no node ${id}`);
      return n;
    };
    return {
      tag,
      clientAddress,
      nodes,
      partitionFromClients(id) {
        const ns = node(id).namespace;
        sh(['ip', 'netns', 'exec', ns, 'iptables', '-A', 'INPUT', '-s', clientAddress, '-j', 'DROP']);
        sh(['ip', 'netns', 'exec', ns, 'iptables', '-A', 'OUTPUT', '-d', clientAddress, '-j', 'DROP']);
      },
      isolateFromNodes(id) {
        const ns = node(id).namespace;
        for (const other of nodes) {
          if (other.id === id) continue;
          sh(['ip', 'netns', 'exec', ns, 'iptables', '-A', 'INPUT', '-s', other.address, '-j', 'DROP']);
          sh(['ip', 'netns', 'exec', ns, 'iptables', '-A', 'OUTPUT', '-d', other.address, '-j', 'DROP']);
        }
      },
      heal(id) {
        sh(['ip', 'netns', 'exec', node(id).namespace, 'iptables', '-F']);
      },
      destroy,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}
