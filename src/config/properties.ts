/**
 * Java `.properties` files, as java.util.Properties reads and writes them, so an existing
 * Kafka `server.properties` works unchanged: `key=value`, `key: value` or `key value`;
 * `#` and `!` comment lines; a trailing backslash continues a line (leading blanks of the
 * next line dropped); escapes \t \n \r \f \uXXXX, and \x for any other x.
 * Files are read as UTF-8 (Java's InputStream overload assumes ISO-8859-1; \uXXXX works in both).
 */

export interface PropertyEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based line where the logical line starts. */
  readonly line: number;
}

export interface PropertyError {
  readonly line: number;
  readonly message: string;
}

export interface ParsedProperties {
  /** In file order; a key that appears twice is listed twice (the last one wins). */
  readonly entries: readonly PropertyEntry[];
  readonly errors: readonly PropertyError[];
}

const isBlank = (c: string) => c === ' ' || c === '\t' || c === '\f';

interface LogicalLine {
  readonly text: string;
  readonly line: number;
}

/** Split into logical lines: comments and blank lines dropped, continuations joined. */
function logicalLines(input: string): LogicalLine[] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const out: LogicalLine[] = [];
  let i = 0;
  let lineNo = 1;
  const n = text.length;
  while (i < n) {
    // Start of a natural line that begins a logical line.
    while (i < n && isBlank(text[i] as string)) i++;
    if (i >= n) break;
    let c = text[i] as string;
    if (c === '\n' || c === '\r') {
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      lineNo++;
      continue;
    }
    if (c === '#' || c === '!') {
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
      continue;
    }
    const startLine = lineNo;
    let buf = '';
    let precedingBackslash = false;
    for (;;) {
      if (i >= n) {
        if (precedingBackslash) buf = buf.slice(0, -1);
        break;
      }
      c = text[i] as string;
      if (c === '\n' || c === '\r') {
        i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
        lineNo++;
        if (!precedingBackslash) break;
        // Continuation: drop the backslash and the next line's leading blanks.
        buf = buf.slice(0, -1);
        precedingBackslash = false;
        while (i < n && isBlank(text[i] as string)) i++;
        continue;
      }
      buf += c;
      precedingBackslash = c === '\\' ? !precedingBackslash : false;
      i++;
    }
    out.push({ text: buf, line: startLine });
  }
  return out;
}

/** Undo escapes; returns null for a malformed \uXXXX. */
function unescapeText(s: string): string | null {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    if (i >= s.length) break;
    const e = s[i] as string;
    if (e === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9A-Fa-f]{4}$/.test(hex)) return null;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 4;
    } else if (e === 't') out += '\t';
    else if (e === 'n') out += '\n';
    else if (e === 'r') out += '\r';
    else if (e === 'f') out += '\f';
    else out += e;
  }
  return out;
}

export function parseProperties(input: string): ParsedProperties {
  const entries: PropertyEntry[] = [];
  const errors: PropertyError[] = [];
  for (const { text, line } of logicalLines(input)) {
    let keyLen = 0;
    let valueStart = text.length;
    let hasSeparator = false;
    let precedingBackslash = false;
    while (keyLen < text.length) {
      const c = text[keyLen] as string;
      if ((c === '=' || c === ':') && !precedingBackslash) {
        valueStart = keyLen + 1;
        hasSeparator = true;
        break;
      }
      if (isBlank(c) && !precedingBackslash) {
        valueStart = keyLen + 1;
        break;
      }
      precedingBackslash = c === '\\' ? !precedingBackslash : false;
      keyLen++;
    }
    while (valueStart < text.length) {
      const c = text[valueStart] as string;
      if (!isBlank(c)) {
        if (!hasSeparator && (c === '=' || c === ':')) hasSeparator = true;
        else break;
      }
      valueStart++;
    }
    const key = unescapeText(text.slice(0, keyLen));
    const value = unescapeText(text.slice(valueStart));
    if (key === null || value === null) {
      errors.push({ line, message: 'Malformed \\uxxxx encoding.' });
      continue;
    }
    entries.push({ key, value, line });
  }
  return { entries, errors };
}

/** The last value of each key (a Map, so keys like `__proto__` are plain keys). */
export function propertiesToMap(parsed: ParsedProperties): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of parsed.entries) out.set(e.key, e.value);
  return out;
}

function escapeText(s: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    switch (c) {
      case ' ':
        out += i === 0 || isKey ? '\\ ' : ' ';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\\':
      case '=':
      case ':':
      case '#':
      case '!':
        out += `\\${c}`;
        break;
      default: {
        const code = c.charCodeAt(0);
        out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : c;
      }
    }
  }
  return out;
}

/** A key as it must be written in a properties file. */
export function escapePropertyKey(key: string): string {
  return escapeText(key, true);
}

/** A value as it must be written in a properties file. */
export function escapePropertyValue(value: string): string {
  return escapeText(value, false);
}

/** Write `key=value` lines that parseProperties (and Java) read back to the same map. */
export function stringifyProperties(
  values: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
  header?: string,
): string {
  let out = '';
  if (header !== undefined) for (const line of header.split(/\r?\n/)) out += `# ${line}\n`;
  const entries = values instanceof Map ? values.entries() : Object.entries(values);
  for (const [k, v] of entries) out += `${escapeText(k, true)}=${escapeText(v, false)}\n`;
  return out;
}
