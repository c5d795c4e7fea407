import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A raw message definition as found in Kafka's JSON files (comments removed). */
export interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number | string;
  default?: string | number | boolean;
  ignorable?: boolean;
  mapKey?: boolean;
  flexibleVersions?: string;
  zeroCopy?: boolean;
  fields?: RawField[];
}

export interface RawStruct {
  name: string;
  versions?: string;
  fields: RawField[];
}

export interface RawMessage {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: RawField[];
  commonStructs?: RawStruct[];
  latestVersionUnstable?: boolean;
}

/** Removes `//` line comments outside of string literals. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') {
        inString = false;
      }
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
      continue;
    }
    out += c;
  }
  return out;
}

export function readSpecFile(path: string): RawMessage {
  return JSON.parse(stripComments(readFileSync(path, 'utf8'))) as RawMessage;
}

/** Every definition in a folder, sorted by file name so generation is deterministic. */
export function readSpecDir(dir: string): RawMessage[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => readSpecFile(join(dir, f)));
}
