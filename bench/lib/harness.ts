/**
 * Shared plumbing of the broker benchmarks: the --quick switch, figure/baseline/ratio rows
 * printed as they are measured and saved as JSON under bench/results/, and process RSS.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** `--quick` (or JOCKO_BENCH_QUICK=1): smaller volumes and fewer cases, the whole suite in under 2 minutes. */
export const QUICK = process.argv.includes('--quick') || process.env['JOCKO_BENCH_QUICK'] === '1';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export interface Row {
  readonly name: string;
  readonly unit: string;
  readonly figure: number;
  readonly baseline: number;
  readonly baselineName: string;
  /** figure / baseline: for throughput higher is better, for costs (memory, time) lower is. */
  readonly ratio: number;
  readonly extra?: Record<string, number | string>;
}

export class Results {
  readonly rows: Row[] = [];
  private readonly started = new Date();

  constructor(private readonly bench: string) {}

  /** Records and prints one figure next to its baseline. */
  add(
    name: string,
    unit: string,
    figure: number,
    baseline: number,
    baselineName: string,
    extra?: Record<string, number | string>,
  ): Row {
    const row: Row = {
      name,
      unit,
      figure,
      baseline,
      baselineName,
      ratio: figure / baseline,
      ...(extra ? { extra } : {}),
    };
    this.rows.push(row);
    const extras =
      extra === undefined
        ? ''
        : `  ${Object.entries(extra)
            .map(([k, v]) => `${k}=${typeof v === 'number' ? num(v) : v}`)
            .join(' ')}`;
    console.log(
      `${name.padEnd(44)} ${num(figure).padStart(10)} ${unit.padEnd(9)} ${baselineName} ${num(baseline).padStart(10)}  ratio ${row.ratio.toFixed(2)}${extras}`,
    );
    return row;
  }

  note(text: string): void {
    console.log(`  (${text})`);
  }

  save(meta: Record<string, unknown> = {}): void {
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/${this.bench}${QUICK ? '.quick' : ''}.json`;
    const doc = {
      bench: this.bench,
      when: this.started.toISOString(),
      quick: QUICK,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memBytes: totalmem(), node: process.version },
      ...meta,
      rows: this.rows,
    };
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`  saved ${file}`);
  }
}

export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Resident set size of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The best of several measurements and the spread (max/min - 1) across them. */
export function bestOf(values: readonly number[], higherIsBetter = true): { best: number; spread: number } {
  const max = Math.max(...values);
  const min = Math.min(...values);
  return { best: higherIsBetter ? max : min, spread: min > 0 ? max / min - 1 : 0 };
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every Linux this runs on (sysconf is not reachable from Node). */
const CLOCK_TICKS = 100;
