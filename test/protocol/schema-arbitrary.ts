import fc from 'fast-check';
import { SCHEMA_JSON } from '../../src/protocol/generated/schema.js';

/** The schema table emitted by the generator, typed for tests. */
export type TypeDesc = string | ['array', TypeDesc] | ['struct', string];
/** [prop, type, versionLo, versionHi, nullableLo, nullableHi, tag] */
export type FieldDesc = [string, TypeDesc, number, number, number, number, number];
export interface StructDesc {
  name: string;
  fields: FieldDesc[];
}
export interface MessageDesc {
  name: string;
  apiKey: number;
  validVersions: [number, number];
  flexibleFrom: number;
  structs: StructDesc[];
}

export const SCHEMA: MessageDesc[] = JSON.parse(SCHEMA_JSON) as MessageDesc[];

const inRange = (v: number, lo: number, hi: number) => v >= lo && v <= hi;

export function structsOf(m: MessageDesc): Map<string, StructDesc> {
  return new Map(m.structs.map((s) => [s.name, s]));
}

/** An arbitrary value of struct `name` valid at version v (fields absent at v are left out). */
export function structArbitrary(
  m: MessageDesc,
  name: string,
  v: number,
  depth = 0,
  withUnknownTags = true,
): fc.Arbitrary<Record<string, unknown>> {
  const structs = structsOf(m);
  const flex = v >= m.flexibleFrom;
  const s = structs.get(name);
  if (s === undefined) throw new Error(`no struct ${name} in ${m.name}`);
  const usedTags = new Set(s.fields.map((f) => f[6]).filter((t) => t >= 0));
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [prop, type, lo, hi, nlo, nhi] of s.fields) {
    if (!inRange(v, lo, hi)) continue;
    const nullable = inRange(v, nlo, nhi);
    shape[prop] = typeArbitrary(m, type, v, nullable, depth);
  }
  let arb: fc.Arbitrary<Record<string, unknown>> = fc.record(shape);
  if (flex && withUnknownTags) {
    const unknown = fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 2 }).chain((tags) => {
      const free = tags.filter((t) => !usedTags.has(t)).sort((a, b) => a - b);
      return fc.tuple(
        ...free.map((tag) => fc.uint8Array({ maxLength: 6 }).map((d) => ({ tag, data: Buffer.from(d) }))),
      );
    });
    arb = fc.tuple(arb, fc.option(unknown, { nil: undefined })).map(([rec, u]) => {
      if (u !== undefined && u.length > 0) return { ...rec, unknownTaggedFields: u };
      return rec;
    });
  }
  return arb;
}

function typeArbitrary(
  m: MessageDesc,
  t: TypeDesc,
  v: number,
  nullable: boolean,
  depth: number,
): fc.Arbitrary<unknown> {
  const base = nonNullArbitrary(m, t, v, depth);
  return nullable ? fc.option(base, { nil: null, freq: 4 }) : base;
}

function nonNullArbitrary(m: MessageDesc, t: TypeDesc, v: number, depth: number): fc.Arbitrary<unknown> {
  if (Array.isArray(t)) {
    if (t[0] === 'array') {
      const elem = nonNullArbitrary(m, t[1], v, depth + 1);
      return fc.array(elem, { maxLength: depth > 2 ? 1 : 3 });
    }
    return structArbitrary(m, t[1], v, depth + 1);
  }
  switch (t) {
    case 'bool':
      return fc.boolean();
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'int32':
      return fc.integer({ min: -2147483648, max: 2147483647 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'uint32':
      return fc.integer({ min: 0, max: 4294967295 });
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64':
      return fc.double();
    case 'uuid':
      return fc.uuid();
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
    case 'bytes':
    case 'records':
      return fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
  }
  throw new Error(`unknown type ${String(t)}`);
}

/** Asserts that `decoded` carries every field of `input` present at version v. */
export function samePresentFields(
  m: MessageDesc,
  name: string,
  v: number,
  input: Record<string, unknown>,
  decoded: Record<string, unknown>,
  path = name,
): string | null {
  const s = structsOf(m).get(name);
  if (s === undefined) return `no struct ${name}`;
  for (const [prop, type, lo, hi] of s.fields) {
    if (!inRange(v, lo, hi)) continue;
    const diff = sameValue(m, type, v, input[prop], decoded[prop], `${path}.${prop}`);
    if (diff !== null) return diff;
  }
  const ui = (input['unknownTaggedFields'] as unknown[] | undefined) ?? [];
  const ud = (decoded['unknownTaggedFields'] as unknown[] | undefined) ?? [];
  if (JSON.stringify(ui) !== JSON.stringify(ud)) return `${path}: unknown tagged fields differ`;
  return null;
}

function sameValue(m: MessageDesc, t: TypeDesc, v: number, a: unknown, b: unknown, path: string): string | null {
  if (a === null || b === null) return a === b ? null : `${path}: ${String(a)} vs ${String(b)}`;
  if (Array.isArray(t)) {
    if (t[0] === 'array') {
      const aa = a as unknown[];
      const bb = b as unknown[];
      if (aa.length !== bb.length) return `${path}: length ${aa.length} vs ${bb.length}`;
      for (let i = 0; i < aa.length; i++) {
        const d = sameValue(m, t[1], v, aa[i], bb[i], `${path}[${i}]`);
        if (d !== null) return d;
      }
      return null;
    }
    return samePresentFields(m, t[1], v, a as Record<string, unknown>, b as Record<string, unknown>, path);
  }
  if (Buffer.isBuffer(a)) return Buffer.isBuffer(b) && a.equals(b) ? null : `${path}: bytes differ`;
  if (typeof a === 'number' && Number.isNaN(a)) return Number.isNaN(b) ? null : `${path}: NaN vs ${String(b)}`;
  return Object.is(a, b) ? null : `${path}: ${String(a)} vs ${String(b)}`;
}
