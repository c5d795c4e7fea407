/**
 * Turning configuration strings into typed values and back, with Kafka's validation rules
 * and Kafka's wording ("Invalid value X for configuration Y: Value must be at least Z"),
 * so that tools which match on those messages keep working.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import {
  AlterConfigOp,
  type AlterConfigOpId,
  type ConfigDef,
  type ConfigTypeName,
  type ConfigValue,
  LONG_MAX,
} from './config-def.js';
import { TOPIC_CONFIG_BY_NAME } from './topic-configs.js';

export type ParseResult =
  | { readonly ok: true; readonly value: ConfigValue }
  | { readonly ok: false; readonly error: string };

/** A rejected configuration entry, with the Kafka error code a response should carry. */
export interface ConfigProblem {
  readonly name: string;
  readonly errorCode: number;
  readonly message: string;
}

const TYPE_WORD: Readonly<Record<ConfigTypeName, string>> = {
  boolean: 'BOOLEAN',
  string: 'STRING',
  int: 'INT',
  short: 'SHORT',
  long: 'LONG',
  double: 'DOUBLE',
  list: 'LIST',
  class: 'CLASS',
  password: 'PASSWORD',
};

const INTEGER_RE = /^[+-]?\d+$/;
const DOUBLE_RE = /^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)$/;
const CLASS_NAME_RE = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;
const INT_BOUNDS: Readonly<Record<'short' | 'int' | 'long', readonly [bigint, bigint]>> = {
  short: [-32768n, 32767n],
  int: [-2147483648n, 2147483647n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
};

export function invalidValueMessage(name: string, shownValue: string, reason: string): string {
  return `Invalid value ${shownValue} for configuration ${name}: ${reason}`;
}

/** Parse a raw string the way Kafka's ConfigDef does, then run the definition's validator. */
export function parseValue(def: ConfigDef, raw: string): ParseResult {
  const parsed = parseType(def.name, def.type, raw);
  if (!parsed.ok) return parsed;
  const error = validateValue(def, parsed.value);
  return error === null ? parsed : { ok: false, error };
}

/** Type conversion only (ConfigDef.parseType): no validator. */
export function parseType(name: string, type: ConfigTypeName, raw: string): ParseResult {
  const trimmed = raw.trim();
  const fail = (reason: string): ParseResult => ({ ok: false, error: invalidValueMessage(name, raw, reason) });
  switch (type) {
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true') return { ok: true, value: true };
      if (lower === 'false') return { ok: true, value: false };
      return fail('Expected value to be either true or false');
    }
    case 'string':
    case 'password':
      return { ok: true, value: trimmed };
    case 'class':
      return CLASS_NAME_RE.test(trimmed) ? { ok: true, value: trimmed } : fail(`Class ${raw} could not be found.`);
    case 'short':
    case 'int':
    case 'long': {
      if (!INTEGER_RE.test(trimmed)) return fail(`Not a number of type ${TYPE_WORD[type]}`);
      const big = BigInt(trimmed);
      const [lo, hi] = INT_BOUNDS[type];
      if (big < lo || big > hi) return fail(`Not a number of type ${TYPE_WORD[type]}`);
      return { ok: true, value: Number(big) };
    }
    case 'double': {
      if (!DOUBLE_RE.test(trimmed)) return fail('Not a number of type DOUBLE');
      const body = trimmed.replace(/[fFdD]$/, '');
      return { ok: true, value: Number(body) };
    }
    case 'list':
      return { ok: true, value: trimmed === '' ? [] : trimmed.split(/\s*,\s*/) };
  }
}

/**
 * Run the definition's validator on a parsed value. Returns the full Kafka-style message,
 * or null when the value is acceptable (null values are not validated).
 */
export function validateValue(def: ConfigDef, value: ConfigValue): string | null {
  const v = def.validator;
  if (v === null || value === null) return null;
  switch (v.kind) {
    case 'range': {
      if (typeof value !== 'number') return null;
      if (v.min !== undefined && value < v.min) {
        return invalidValueMessage(def.name, javaString(def, value), `Value must be at least ${v.min}`);
      }
      if (v.max !== undefined && value > v.max) {
        return invalidValueMessage(def.name, javaString(def, value), `Value must be no more than ${v.max}`);
      }
      return null;
    }
    case 'one-of':
      if (typeof value === 'string' && !v.values.includes(value)) {
        return invalidValueMessage(def.name, javaString(def, value), `String must be one of: ${v.values.join(', ')}`);
      }
      return null;
    case 'list-of':
      if (Array.isArray(value)) {
        for (const item of value) {
          if (!v.values.includes(item)) {
            return invalidValueMessage(def.name, item, `String must be one of: ${v.values.join(', ')}`);
          }
        }
      }
      return null;
    case 'custom': {
      const reason = v.check(value);
      return reason === null ? null : invalidValueMessage(def.name, javaString(def, value), reason);
    }
  }
}

/**
 * The value as Kafka prints it in DescribeConfigs (ConfigDef.convertToString): lists joined
 * by commas, doubles as Java prints them, Long.MAX_VALUE exactly.
 */
export function formatValue(def: Pick<ConfigDef, 'type'>, value: ConfigValue): string | null {
  if (value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'number') return def.type === 'double' ? javaDouble(value) : formatInteger(value);
  return String(value);
}

/** A parsed value as Java's toString shows it inside error messages (lists as [a, b]). */
function javaString(def: ConfigDef, value: ConfigValue): string {
  if (def.sensitive) return '[hidden]';
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  return formatValue(def, value) ?? 'null';
}

export function formatInteger(n: number): string {
  if (Number.isSafeInteger(n)) return String(n);
  if (n >= LONG_MAX) return '9223372036854775807';
  if (n <= -LONG_MAX) return '-9223372036854775808';
  return BigInt(Math.trunc(n)).toString();
}

/** Java's Double.toString: plain between 10^-3 and 10^7, otherwise d.dddE±n, always a fraction digit. */
export function javaDouble(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Number.POSITIVE_INFINITY) return 'Infinity';
  if (d === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (d === 0) return Object.is(d, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(d);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(d);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa = '', exponent = ''] = d.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

/** Kafka's "Unknown topic config name" check, then types, validators and cross-field rules. */
export function validateTopicConfigs(
  configs: ReadonlyMap<string, string | null> | Readonly<Record<string, string | null>>,
  options: { readonly defaults?: (name: string) => ConfigValue | undefined } = {},
): ConfigProblem[] {
  // A Map keeps names such as "__proto__" as plain keys; records are accepted for convenience.
  const entries: ReadonlyArray<readonly [string, string | null]> =
    configs instanceof Map ? [...configs] : Object.entries(configs);
  const problems: ConfigProblem[] = [];
  const parsed = new Map<string, ConfigValue>();
  for (const [name] of entries) {
    if (!TOPIC_CONFIG_BY_NAME.has(name)) {
      problems.push({ name, errorCode: ErrorCode.INVALID_CONFIG, message: `Unknown topic config name: ${name}` });
    }
  }
  if (problems.length > 0) return problems;
  for (const [name, raw] of entries) {
    const def = TOPIC_CONFIG_BY_NAME.get(name);
    if (def === undefined) continue;
    if (raw === null) {
      problems.push({
        name,
        errorCode: ErrorCode.INVALID_CONFIG,
        message: `Null value not supported for topic configs: ${name}`,
      });
      continue;
    }
    const result = parseValue(def, raw);
    if (result.ok) parsed.set(name, result.value);
    else problems.push({ name, errorCode: ErrorCode.INVALID_CONFIG, message: result.error });
  }
  if (problems.length > 0) return problems;

  const effective = (name: string): ConfigValue | undefined =>
    parsed.has(name) ? parsed.get(name) : (options.defaults?.(name) ?? TOPIC_CONFIG_BY_NAME.get(name)?.default);
  const minLag = effective('min.compaction.lag.ms');
  const maxLag = effective('max.compaction.lag.ms');
  if (typeof minLag === 'number' && typeof maxLag === 'number' && minLag > maxLag) {
    problems.push({
      name: 'min.compaction.lag.ms',
      errorCode: ErrorCode.INVALID_CONFIG,
      message: `conflict topic config setting min.compaction.lag.ms (${formatInteger(minLag)}) > max.compaction.lag.ms (${formatInteger(maxLag)})`,
    });
  }
  return problems;
}

export interface IncrementalAlterOp {
  readonly name: string;
  readonly op: AlterConfigOpId;
  readonly value: string | null;
}

export type IncrementalAlterResult =
  | { readonly ok: true; readonly configs: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly problem: ConfigProblem };

/**
 * Apply IncrementalAlterConfigs operations to a resource's current overrides. APPEND and
 * SUBTRACT work on the comma-separated parts of LIST configs only, starting from the
 * catalogue default when the key has no override (as Kafka's controller does). The result
 * still has to be validated (validateTopicConfigs / the broker's dynamic update check).
 */
export function applyIncrementalAlterOps(
  current: Readonly<Record<string, string>>,
  ops: readonly IncrementalAlterOp[],
  lookup: (name: string) => ConfigDef | undefined,
): IncrementalAlterResult {
  const seen = new Set<string>();
  for (const op of ops) {
    if (seen.has(op.name)) {
      return {
        ok: false,
        problem: { name: op.name, errorCode: ErrorCode.INVALID_REQUEST, message: 'Error due to duplicate config keys' },
      };
    }
    seen.add(op.name);
  }
  const next: Record<string, string> = { ...current };
  for (const op of ops) {
    switch (op.op) {
      case AlterConfigOp.SET:
        if (op.value === null) {
          return {
            ok: false,
            problem: {
              name: op.name,
              errorCode: ErrorCode.INVALID_REQUEST,
              message: `Null value not supported for : ${op.name}`,
            },
          };
        }
        next[op.name] = op.value;
        break;
      case AlterConfigOp.DELETE:
        delete next[op.name];
        break;
      case AlterConfigOp.APPEND:
      case AlterConfigOp.SUBTRACT: {
        const def = lookup(op.name);
        const opName = op.op === AlterConfigOp.APPEND ? 'APPEND' : 'SUBTRACT';
        if (def === undefined) {
          return {
            ok: false,
            problem: { name: op.name, errorCode: ErrorCode.INVALID_CONFIG, message: `Unknown config name: ${op.name}` },
          };
        }
        if (def.type !== 'list') {
          return {
            ok: false,
            problem: {
              name: op.name,
              errorCode: ErrorCode.INVALID_CONFIG,
              message: `Can't ${opName} to key ${op.name} because its type is not LIST.`,
            },
          };
        }
        const base = next[op.name] ?? (Array.isArray(def.default) ? def.default.join(',') : '');
        const parts = base === '' ? [] : base.split(',');
        const operand = (op.value ?? '').split(',');
        if (op.op === AlterConfigOp.APPEND) {
          for (const part of operand) if (!parts.includes(part)) parts.push(part);
          next[op.name] = parts.join(',');
        } else {
          next[op.name] = parts.filter((p) => !operand.includes(p)).join(',');
        }
        break;
      }
      default:
        return {
          ok: false,
          problem: { name: op.name, errorCode: ErrorCode.INVALID_REQUEST, message: `Unknown operations type ${op.op}` },
        };
    }
  }
  return { ok: true, configs: next };
}
