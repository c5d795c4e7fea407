/**
 * Switches that make the broker deliberately unsafe, for the fault suites to prove they catch
 * what they claim to catch. Read from the environment here, once, and nowhere else; never set
 * them outside tests. The broker logs a warning at start when one is on.
 *
 * JOCKO_TEST_UNSAFE_ACK=1: a produce with acks=all is acknowledged before its batches reach the
 * log file at all: the broker answers at once with the offsets the batches will get and appends
 * them UNSAFE_ACK_WRITE_DELAY_MS later. A kill -9 in between loses acknowledged writes (the
 * safe path writes into the file, the page cache, before it answers, which a killed process
 * cannot undo), and the offsets promised are then given to other values after the restart.
 */
export const testSwitches: {
  readonly unsafeAckBeforeWrite: boolean;
  readonly nodeAddresses: ReadonlyMap<number, { readonly host: string; readonly port: number }>;
} = {
  unsafeAckBeforeWrite: process.env['JOCKO_TEST_UNSAFE_ACK'] === '1',
  nodeAddresses: parseNodeAddresses(process.env['JOCKO_TEST_NODE_ADDRESSES']),
};

/**
 * JOCKO_TEST_NODE_ADDRESSES=2=127.0.0.1:4102,3=127.0.0.1:4103: this node reaches node 2 and 3 at
 * these addresses instead of their advertised ones, so a test can put a fault proxy on every
 * link between two nodes. Not unsafe; a routing aid for the fault suites only.
 */
function parseNodeAddresses(text: string | undefined): Map<number, { host: string; port: number }> {
  const out = new Map<number, { host: string; port: number }>();
  if (text === undefined || text === '') return out;
  for (const entry of text.split(',')) {
    const m = /^(\d+)=(.+):(\d+)$/.exec(entry.trim());
    if (m === null) throw new Error(`JOCKO_TEST_NODE_ADDRESSES: "${entry}" is not id=host:port`);
    out.set(Number(m[1]), { host: m[2] as string, port: Number(m[3]) });
  }
  return out;
}

export const UNSAFE_ACK_WRITE_DELAY_MS = 300;
