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
export const testSwitches: { readonly unsafeAckBeforeWrite: boolean } = {
  unsafeAckBeforeWrite: process.env['JOCKO_TEST_UNSAFE_ACK'] === '1',
};

export const UNSAFE_ACK_WRITE_DELAY_MS = 300;
