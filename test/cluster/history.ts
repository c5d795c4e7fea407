import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/**
 * A history of what clients asked for and what they were told, one JSON object a line
 * (Jepsen's model): an `invoke` opens an operation, and an `ok`, `fail` or `info` with the same
 * `process` closes it. `ok`: it happened, as described; `fail`: it certainly did not happen;
 * `info`: unknown (a timeout, a cut connection) — it may or may not have happened. A process
 * runs one operation at a time. Faults and final reads are `info`/`ok` lines of their own.
 */
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

/** A record as a reader saw it: partition, offset, value. */
export type ReadRecord = readonly [partition: number, offset: number, value: string];

export type Op = SendOp | PollOp | AssignOp | FaultOp | FinalReadOp | AdminOp;

interface OpBase {
  /** Milliseconds since the history began (monotonic). */
  readonly time: number;
  /** The client (or the nemesis) that did it. */
  readonly process: string;
  readonly type: OpType;
}

/** Send one unique value. ok carries the partition and offset the broker acknowledged. */
export interface SendOp extends OpBase {
  readonly f: 'send';
  readonly value: string;
  readonly partition: number;
  readonly offset?: number;
  readonly error?: string;
}

/** One delivery of records to a consumer (a batch or a single message). */
export interface PollOp extends OpBase {
  readonly f: 'poll';
  readonly records?: readonly ReadRecord[];
  readonly error?: string;
}

/** A consumer's partitions changed (assign, or a group rebalance): its positions start afresh. */
export interface AssignOp extends OpBase {
  readonly f: 'assign';
  readonly partitions: readonly number[];
}

/** A fault began (`invoke`) or was healed (`ok`). */
export interface FaultOp extends OpBase {
  readonly f: 'fault';
  readonly fault: string;
  readonly node?: number;
}

/** After healing: everything one node serves of one partition, from offset 0 to its end. */
export interface FinalReadOp extends OpBase {
  readonly f: 'final-read';
  readonly node: number;
  readonly partition: number;
  readonly records: readonly (readonly [offset: number, value: string])[];
}

/**
 * A metadata change asked of one node (the metadata workload): create topic `topic`, or set its
 * `retention.ms` to `value` (each value sent once in a run). `node` is the node asked.
 */
export interface AdminOp extends OpBase {
  readonly f: 'create-topic' | 'alter-config';
  readonly node: number;
  readonly topic: string;
  readonly value?: string;
  readonly error?: string;
}

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type OpInput = Without<Op, 'time'>;

/** Where operations go: a HistoryRecorder, or (for a baseline) nowhere. */
export interface History {
  record(op: OpInput): void;
}

/** Bound: a run that writes more than this many operations is a runaway loop. */
const MAX_OPS = 5_000_000;
const FLUSH_BYTES = 256 * 1024;

/**
 * Appends operations to a JSONL file. Lines are buffered and written in 256 KiB chunks
 * (synchronously, so nothing is lost if the test then fails) and on close.
 */
export class HistoryRecorder implements History {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private readonly start = performance.now();
  private count = 0;
  private closed = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  get ops(): number {
    return this.count;
  }

  /** Milliseconds since the history began. */
  now(): number {
    return Math.round((performance.now() - this.start) * 10) / 10;
  }

  record(op: OpInput): void {
    if (this.closed) throw new Error(`history ${this.path} is closed`);
    if (++this.count > MAX_OPS) throw new Error(`history ${this.path}: more than ${MAX_OPS} operations`);
    const line = `${JSON.stringify({ time: this.now(), ...op })}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}

export function readHistory(path: string): Op[] {
  return parseHistory(readFileSync(path, 'utf8'));
}

export function parseHistory(text: string): Op[] {
  const ops: Op[] = [];
  for (const line of text.split('\n')) if (line !== '') ops.push(JSON.parse(line) as Op);
  return ops;
}
