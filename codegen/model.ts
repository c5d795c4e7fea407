import type { RawField, RawMessage } from './read-spec.js';

/** An inclusive version range; `hi` is Infinity for "N+", and `none` is the empty range. */
export interface VersionRange {
  readonly lo: number;
  readonly hi: number;
}

export const NO_VERSIONS: VersionRange = { lo: 1, hi: 0 };

export function parseVersions(s: string | undefined, fallback: VersionRange = NO_VERSIONS): VersionRange {
  if (s === undefined) return fallback;
  const t = s.trim();
  if (t === 'none') return NO_VERSIONS;
  if (t.endsWith('+')) return { lo: Number(t.slice(0, -1)), hi: Number.POSITIVE_INFINITY };
  const dash = t.indexOf('-');
  if (dash >= 0) return { lo: Number(t.slice(0, dash)), hi: Number(t.slice(dash + 1)) };
  const n = Number(t);
  if (!Number.isInteger(n)) throw new Error(`bad version range "${s}"`);
  return { lo: n, hi: n };
}

export function isEmpty(r: VersionRange): boolean {
  return r.lo > r.hi;
}

export function contains(r: VersionRange, v: number): boolean {
  return v >= r.lo && v <= r.hi;
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  return { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
}

export const PRIMITIVES = [
  'bool',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint16',
  'uint32',
  'float64',
  'string',
  'bytes',
  'records',
  'uuid',
] as const;
export type Primitive = (typeof PRIMITIVES)[number];

export function isPrimitive(t: string): t is Primitive {
  return (PRIMITIVES as readonly string[]).includes(t);
}

export type FieldType =
  | { kind: 'primitive'; name: Primitive }
  | { kind: 'struct'; struct: StructModel }
  | { kind: 'array'; element: FieldType };

export interface FieldModel {
  /** Kafka's field name (PascalCase), and the TypeScript property name. */
  readonly kafkaName: string;
  readonly prop: string;
  readonly type: FieldType;
  readonly versions: VersionRange;
  readonly nullableVersions: VersionRange;
  readonly taggedVersions: VersionRange;
  readonly tag: number | undefined;
  /** Field-level override of the message's flexible versions (only "none" occurs). */
  readonly flexibleOverride: VersionRange | undefined;
  readonly defaultValue: string | number | boolean | undefined;
  readonly ignorable: boolean;
}

export interface StructModel {
  /** The TypeScript type name (prefixed with the message name). */
  readonly typeName: string;
  readonly kafkaName: string;
  readonly fields: FieldModel[];
  /** Versions in which this struct can appear. */
  readonly versions: VersionRange;
}

export interface MessageModel {
  readonly name: string;
  readonly kind: string;
  readonly apiKey: number | undefined;
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange;
  readonly root: StructModel;
  /** Every struct, root first, then nested and common structs in order of appearance. */
  readonly structs: StructModel[];
}

export function camel(name: string): string {
  if (name.startsWith('KRaft')) return 'kraft' + name.slice(5);
  return name.charAt(0).toLowerCase() + name.slice(1);
}

export function kebab(name: string): string {
  return name
    .replace(/KRaft/g, 'Kraft')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** Builds the typed model of one message definition. */
export function buildModel(raw: RawMessage): MessageModel {
  const validVersions = parseVersions(raw.validVersions);
  const flexibleVersions = parseVersions(raw.flexibleVersions);
  const structs: StructModel[] = [];
  const byKafkaName = new Map<string, StructModel>();
  const prefix = raw.name;
  const typeNameFor = (kafkaName: string) => (kafkaName.startsWith(prefix) ? kafkaName : prefix + kafkaName);

  // Common structs are declared up front so fields can refer to them by name.
  const pendingCommon: Array<{ model: StructModel; fields: RawField[] }> = [];
  for (const cs of raw.commonStructs ?? []) {
    const model: StructModel = {
      typeName: typeNameFor(cs.name),
      kafkaName: cs.name,
      fields: [],
      versions: parseVersions(cs.versions, validVersions),
    };
    byKafkaName.set(cs.name, model);
    pendingCommon.push({ model, fields: cs.fields });
  }

  const buildFields = (rawFields: RawField[], into: FieldModel[], outer: VersionRange) => {
    for (const f of rawFields) into.push(buildField(f, outer));
  };

  const buildType = (f: RawField, typeStr: string, fieldVersions: VersionRange): FieldType => {
    if (typeStr.startsWith('[]')) {
      return { kind: 'array', element: buildType(f, typeStr.slice(2), fieldVersions) };
    }
    if (isPrimitive(typeStr)) return { kind: 'primitive', name: typeStr };
    if (f.fields !== undefined) {
      if (byKafkaName.has(typeStr) && !pendingCommon.some((p) => p.model.kafkaName === typeStr)) {
        throw new Error(`${raw.name}: struct ${typeStr} declared twice`);
      }
      const model: StructModel = {
        typeName: typeNameFor(typeStr),
        kafkaName: typeStr,
        fields: [],
        versions: intersect(fieldVersions, validVersions),
      };
      byKafkaName.set(typeStr, model);
      structs.push(model);
      buildFields(f.fields, model.fields, model.versions);
      return { kind: 'struct', struct: model };
    }
    const common = byKafkaName.get(typeStr);
    if (common === undefined) throw new Error(`${raw.name}: unknown type ${typeStr} for field ${f.name}`);
    return { kind: 'struct', struct: common };
  };

  const buildField = (f: RawField, outer: VersionRange): FieldModel => {
    // As Kafka's FieldSpec: a field that names only taggedVersions exists in those versions.
    const versions = intersect(parseVersions(f.versions ?? f.taggedVersions), outer);
    return {
      kafkaName: f.name,
      prop: camel(f.name),
      type: buildType(f, f.type, versions),
      versions,
      nullableVersions: parseVersions(f.nullableVersions),
      taggedVersions: parseVersions(f.taggedVersions),
      tag: f.tag === undefined ? undefined : Number(f.tag),
      flexibleOverride: f.flexibleVersions === undefined ? undefined : parseVersions(f.flexibleVersions),
      defaultValue: f.default,
      ignorable: f.ignorable === true,
    };
  };

  const root: StructModel = { typeName: raw.name, kafkaName: raw.name, fields: [], versions: validVersions };
  structs.push(root);
  buildFields(raw.fields, root.fields, validVersions);
  for (const p of pendingCommon) {
    structs.push(p.model);
    buildFields(p.fields, p.model.fields, p.model.versions);
  }
  return {
    name: raw.name,
    kind: raw.type,
    apiKey: raw.apiKey,
    validVersions,
    flexibleVersions,
    root,
    structs,
  };
}
