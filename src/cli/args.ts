/** A small argument parser: `--flag value`, `--flag=value`, repeated flags, booleans, positionals. */
export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Map<string, string[]>;
}

export function parseArgs(argv: readonly string[], booleanFlags: ReadonlySet<string> = new Set()): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  const add = (k: string, v: string) => {
    const list = flags.get(k) ?? [];
    list.push(v);
    flags.set(k, list);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) {
        add(a.slice(2, eq), a.slice(eq + 1));
      } else if (booleanFlags.has(a.slice(2))) {
        add(a.slice(2), 'true');
      } else {
        const v = argv[i + 1];
        if (v === undefined) throw new Error(`missing value for ${a}`);
        add(a.slice(2), v);
        i++;
      }
    } else if (a.startsWith('-') && a.length === 2 && !booleanFlags.has(a.slice(1))) {
      const v = argv[i + 1];
      if (v === undefined) throw new Error(`missing value for ${a}`);
      add(a.slice(1), v);
      i++;
    } else if (a.startsWith('-') && a.length === 2) {
      add(a.slice(1), 'true');
    } else {
      positionals.push(a);
    }
  }
  return { positionals, flags };
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

/** Splits `host:port` (IPv6 in brackets allowed). */
export function parseHostPort(s: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]*)(?::(\d+))?$/.exec(s);
  if (m === null) throw new Error(`invalid address ${s} (expected host:port)`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in ${s}`);
  return { host: m[1] === '' ? '0.0.0.0' : (m[1] as string), port };
}
