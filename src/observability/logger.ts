/**
 * Structured logging: one line per event, `time level component message key=value ...`.
 * JSON lines when JOCKO_LOG_FORMAT=json. The level comes from JOCKO_LOG_LEVEL (default info).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, string | number | bigint | boolean | null | undefined>;

export interface LogSink {
  write(line: string): void;
}

const stderrSink: LogSink = { write: (line) => process.stderr.write(line) };

interface LoggerState {
  level: LogLevel;
  json: boolean;
  sink: LogSink;
  /** The node this process runs, put on every line so the logs of a multi-node run read apart. */
  node: number | null;
}

const state: LoggerState = {
  level: parseLevel(process.env['JOCKO_LOG_LEVEL']) ?? 'info',
  json: process.env['JOCKO_LOG_FORMAT'] === 'json',
  sink: stderrSink,
  node: null,
};

export function parseLevel(s: string | undefined): LogLevel | undefined {
  if (s === undefined) return undefined;
  const l = s.toLowerCase();
  return l in ORDER ? (l as LogLevel) : undefined;
}

export function setLogLevel(level: LogLevel): void {
  state.level = level;
}

export function getLogLevel(): LogLevel {
  return state.level;
}

/** Puts `node=<id>` on every line from now on (null: none). The broker sets it to its node id. */
export function setLogNode(id: number | null): void {
  state.node = id;
}

export function setLogSink(sink: LogSink | null): void {
  state.sink = sink ?? stderrSink;
}

function fmtValue(v: unknown): string {
  const s = String(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export class Logger {
  constructor(readonly component: string) {}

  child(component: string): Logger {
    return new Logger(`${this.component}.${component}`);
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[state.level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void {
    if (ORDER[level] < ORDER[state.level]) return;
    const time = new Date().toISOString();
    if (state.json) {
      const obj: Record<string, unknown> = { time, level, component: this.component, msg };
      if (state.node !== null) obj['node'] = state.node;
      if (fields) for (const [k, v] of Object.entries(fields)) obj[k] = typeof v === 'bigint' ? v.toString() : v;
      state.sink.write(`${JSON.stringify(obj)}\n`);
      return;
    }
    const node = state.node === null ? '' : `node=${state.node} `;
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${node}${this.component}: ${msg}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${fmtValue(v)}`;
    }
    state.sink.write(`${line}\n`);
  }
}

export function logger(component: string): Logger {
  return new Logger(component);
}
