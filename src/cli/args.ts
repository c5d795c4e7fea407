import { parseArgs as nodeParseArgs } from 'node:util';

/**
 * Command-line parsing on node:util's parseArgs, held to a strict contract: every option a
 * command accepts is declared; an unknown option, a missing value or a value given to a switch
 * is a UsageError (exit code 2) that names the closest known option. A string option's value may
 * start with '-' (`--offset -5`, `--shift-by -3`), but not with '--', so a forgotten value never
 * swallows the next option.
 */
export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Map<string, string[]>;
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** A mistake in the command line: reported with a pointer to the help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Options every command takes. */
export const COMMON_OPTIONS: OptionSpecs = {
  help: { type: 'boolean', short: 'h' },
  bootstrap: { type: 'string', short: 'b' },
  'bootstrap-server': { type: 'string' },
};

export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple: true }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = { type: spec.type, multiple: true, ...(spec.short !== undefined ? { short: spec.short } : {}) };
  }
  // strict: false only so that the checks below can word the errors (and suggest a name).
  const { tokens } = nodeParseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const spec = specs[token.name];
    if (spec === undefined) throw new UsageError(unknownOption(token.rawName, specs));
    let value: string;
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value (got "${token.value}")`);
      value = 'true';
    } else {
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
        throw new UsageError(`${token.rawName} needs a value`);
      }
      value = token.value;
    }
    const list = flags.get(token.name) ?? [];
    list.push(value);
    flags.set(token.name, list);
  }
  return { positionals, flags };
}

function unknownOption(raw: string, specs: OptionSpecs): string {
  const name = raw.replace(/^-+/, '');
  const names = Object.keys(specs);
  const best = closest(name, names);
  return `unknown option ${raw}${best === undefined ? '' : ` (did you mean --${best}?)`}`;
}

/** The known name nearest to `word` by edit distance, when near enough to be a typo of it. */
export function closest(word: string, names: readonly string[]): string | undefined {
  if (word.length < 2) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const n of names) {
    if (n.length <= 1) continue;
    const d = n.startsWith(word) && word.length >= 3 ? 1 : editDistance(word, n);
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost));
    }
    prev = row;
  }
  return prev[b.length] as number;
}

export function flag(args: ParsedArgs, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = args.flags.get(n);
    if (v !== undefined && v.length > 0) return v[v.length - 1];
  }
  return undefined;
}

export function flagAll(args: ParsedArgs, ...names: string[]): string[] {
  return names.flatMap((n) => args.flags.get(n) ?? []);
}

export function has(args: ParsedArgs, name: string): boolean {
  return args.flags.has(name);
}

/** An integer option within [min, max], or undefined when not given; anything else is a UsageError. */
export function intFlag(
  args: ParsedArgs,
  name: string,
  range: { min?: number; max?: number } = {},
): number | undefined {
  const text = flag(args, name);
  if (text === undefined) return undefined;
  return parseIntArg(`--${name}`, text, range);
}

export function parseIntArg(what: string, text: string, range: { min?: number; max?: number } = {}): number {
  const n = Number(text);
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^[+-]?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const bounds =
      range.min !== undefined && range.max !== undefined
        ? ` from ${range.min} to ${range.max}`
        : range.min !== undefined
          ? ` of at least ${range.min}`
          : range.max !== undefined
            ? ` of at most ${range.max}`
            : '';
    throw new UsageError(`${what} must be an integer${bounds}, not "${text}"`);
  }
  return n;
}

/** An option restricted to a few words; anything else is a UsageError naming them. */
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v)) {
    const best = closest(v, choices);
    throw new UsageError(
      `--${name} must be one of ${choices.join(', ')}, not "${v}"${best === undefined ? '' : ` (did you mean ${best}?)`}`,
    );
  }
  return v as T;
}

/** Splits `host:port` (IPv6 in brackets allowed). */
export function parseHostPort(s: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]*)(?::(\d+))?$/.exec(s);
  if (m === null) throw new UsageError(`invalid address ${s} (expected host:port)`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid port in ${s}`);
  return { host: m[1] === '' ? '0.0.0.0' : (m[1] as string), port };
}

export function bootstrapOf(args: ParsedArgs): string {
  return flag(args, 'bootstrap', 'bootstrap-server') ?? 'localhost:9092';
}

/**
 * The first word of a command with subcommands (`jocko perf produce ...`) and the options parsed
 * with that subcommand's table; or the exit code when there is nothing to run: the help (0 when
 * asked for, 2 when no subcommand was given) or an unknown subcommand (2).
 */
export function parseSubcommand(
  argv: readonly string[],
  command: string,
  table: Readonly<Record<string, OptionSpecs>>,
  help: string,
): { sub: string; args: ParsedArgs } | number {
  const sub = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  const specific = sub === undefined ? undefined : table[sub];
  if (sub !== undefined && specific === undefined) {
    process.stderr.write(`unknown ${command} command '${sub}' (${Object.keys(table).join(', ')})\n\n${help}`);
    return 2;
  }
  const args = parseArgs(argv, { ...COMMON_OPTIONS, ...specific });
  if (sub === undefined || has(args, 'help')) {
    process.stdout.write(help);
    return has(args, 'help') ? 0 : 2;
  }
  return { sub, args };
}
