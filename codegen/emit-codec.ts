import {
  contains,
  type FieldModel,
  type FieldType,
  intersect,
  isEmpty,
  type MessageModel,
  type StructModel,
  type VersionRange,
} from './model.js';

/**
 * Emits TypeScript for one or more message models: an interface per struct (what decode
 * returns), an `...Init` interface (what encode accepts: every field optional, missing
 * fields take the schema default), and straight-line version-gated encoders and decoders.
 */

/** A condition on the version variable `v`, simplified against the range the code runs in. */
export function versionCond(range: VersionRange, within: VersionRange): string {
  const r = intersect(range, within);
  if (isEmpty(r)) return 'false';
  const parts: string[] = [];
  if (r.lo > within.lo) parts.push(`v >= ${r.lo}`);
  if (r.hi < within.hi) parts.push(`v <= ${r.hi}`);
  if (parts.length === 0) return 'true';
  return parts.join(' && ');
}

function and(a: string, b: string): string {
  if (a === 'false' || b === 'false') return 'false';
  if (a === 'true') return b;
  if (b === 'true') return a;
  return `(${a}) && (${b})`;
}

function tsType(t: FieldType, init: boolean): string {
  switch (t.kind) {
    case 'primitive':
      switch (t.name) {
        case 'bool':
          return 'boolean';
        case 'int64':
          return 'bigint';
        case 'string':
        case 'uuid':
          return 'string';
        case 'bytes':
          return 'Buffer';
        case 'records':
          // An encoder also takes the records as a list of chunks written one after another (a
          // large fetch's spans of segment files, read as the socket drains, never joined).
          return init ? "Buffer | readonly import('../../primitives/writer.js').Chunk[]" : 'Buffer';
        default:
          return 'number';
      }
    case 'struct':
      return init ? `${t.struct.typeName}Init` : t.struct.typeName;
    case 'array': {
      const e = tsType(t.element, init);
      return init ? `readonly ${e}[]` : `${e}[]`;
    }
  }
}

function isNullableAnywhere(f: FieldModel): boolean {
  return !isEmpty(intersect(f.nullableVersions, f.versions)) || f.defaultValue === 'null';
}

function parseIntDefault(d: string | number | boolean): string {
  const s = String(d).trim();
  if (s === '') return '0';
  if (/^-?0x/i.test(s)) {
    const neg = s.startsWith('-');
    const n = Number.parseInt(s.replace('-', ''), 16);
    return String(neg ? -n : n);
  }
  return String(Number(s));
}

/** The default value of a field as a TypeScript expression (a fresh value for objects). */
export function defaultExpr(f: FieldModel): string {
  const d = f.defaultValue;
  const isNull = d === 'null';
  const t = f.type;
  if (t.kind === 'array') return isNull ? 'null' : '[]';
  if (t.kind === 'struct') return isNull ? 'null' : `default${t.struct.typeName}()`;
  switch (t.name) {
    case 'bool':
      return d === true || d === 'true' ? 'true' : 'false';
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint16':
    case 'uint32':
    case 'float64':
      return d === undefined ? '0' : parseIntDefault(d);
    case 'int64': {
      if (d === undefined) return '0n';
      return `${parseIntDefault(d)}n`;
    }
    case 'string':
      if (isNull) return 'null';
      return JSON.stringify(d === undefined ? '' : String(d));
    case 'uuid':
      return 'ZERO_UUID';
    case 'bytes':
      return isNull ? 'null' : 'EMPTY_BUFFER';
    case 'records':
      return isNull || !isEmpty(intersect(f.nullableVersions, f.versions)) ? 'null' : 'EMPTY_BUFFER';
  }
}

/** Minimum encoded size of a value of type t at version v (used to bound array counts). */
function minSize(t: FieldType, v: number, flex: boolean, nullable: boolean): number {
  switch (t.kind) {
    case 'array':
      return flex ? 1 : 4;
    case 'struct':
      return nullable ? 1 : structMinSize(t.struct, v, flex);
    case 'primitive':
      switch (t.name) {
        case 'bool':
        case 'int8':
          return 1;
        case 'int16':
        case 'uint16':
          return 2;
        case 'int32':
        case 'uint32':
          return 4;
        case 'int64':
        case 'float64':
          return 8;
        case 'uuid':
          return 16;
        case 'string':
          return flex ? 1 : 2;
        case 'bytes':
        case 'records':
          return flex ? 1 : 4;
      }
  }
}

function structMinSize(s: StructModel, v: number, flex: boolean): number {
  let n = flex ? 1 : 0;
  for (const f of s.fields) {
    if (!contains(f.versions, v)) continue;
    if (flex && contains(f.taggedVersions, v)) continue;
    const fFlex = f.flexibleOverride !== undefined ? contains(f.flexibleOverride, v) && flex : flex;
    n += minSize(f.type, v, fFlex, contains(f.nullableVersions, v));
  }
  return n;
}

class Out {
  lines: string[] = [];
  private indent = 0;
  line(s = ''): void {
    this.lines.push(s === '' ? '' : '  '.repeat(this.indent) + s);
  }
  open(s: string): void {
    this.line(s);
    this.indent++;
  }
  close(s = '}'): void {
    this.indent--;
    this.line(s);
  }
  /** Closes a block and opens the next at the same depth (`} else {`). */
  mid(s: string): void {
    this.indent--;
    this.line(s);
    this.indent++;
  }
}

interface Ctx {
  readonly msg: MessageModel;
  readonly struct: StructModel;
  within: VersionRange;
  tmp: number;
}

/** Runs `fn` with conditions simplified against the field's own versions (inside its `if`). */
function narrowed(ctx: Ctx, range: VersionRange, fn: () => void): void {
  const saved = ctx.within;
  ctx.within = intersect(range, saved);
  try {
    fn();
  } finally {
    ctx.within = saved;
  }
}

function fresh(ctx: Ctx, base: string): string {
  ctx.tmp++;
  return `${base}${ctx.tmp}`;
}

function fieldFlexCond(ctx: Ctx, f: FieldModel): string {
  if (f.flexibleOverride !== undefined) {
    return and('flex', versionCond(f.flexibleOverride, ctx.within));
  }
  return 'flex';
}

// ---------- encoding ----------

function emitWrite(o: Out, ctx: Ctx, t: FieldType, x: string, flex: string, nullable: string, label: string): void {
  if (t.kind === 'array') {
    const e = fresh(ctx, 'e');
    const nullWrite =
      flex === 'true'
        ? 'w.writeUVarint(0);'
        : flex === 'false'
          ? 'w.writeInt32(-1);'
          : `if (${flex}) w.writeUVarint(0); else w.writeInt32(-1);`;
    const lenWrite =
      flex === 'true'
        ? `w.writeUVarint(${x}.length + 1);`
        : flex === 'false'
          ? `w.writeInt32(${x}.length);`
          : `if (${flex}) w.writeUVarint(${x}.length + 1); else w.writeInt32(${x}.length);`;
    o.open(`if (${x} === null) {`);
    if (nullable !== 'true')
      o.line(`if (!(${nullable})) throw new TypeError('${label} is not nullable in version ' + v);`);
    o.line(nullWrite);
    o.mid('} else {');
    o.line(lenWrite);
    o.open(`for (const ${e} of ${x}) {`);
    emitWrite(o, ctx, t.element, e, flex, 'false', `${label}[]`);
    o.close();
    o.close();
    return;
  }
  if (t.kind === 'struct') {
    if (nullable === 'false') {
      o.line(`encode${t.struct.typeName}(w, ${x} ?? {}, v);`);
      return;
    }
    o.open(`if (${x} === null) {`);
    if (nullable !== 'true')
      o.line(`if (!(${nullable})) throw new TypeError('${label} is not nullable in version ' + v);`);
    o.line('w.writeInt8(-1);');
    o.mid('} else {');
    o.line('w.writeInt8(1);');
    o.line(`encode${t.struct.typeName}(w, ${x}, v);`);
    o.close();
    return;
  }
  const pick = (compact: string, classic: string) =>
    flex === 'true' ? `${compact};` : flex === 'false' ? `${classic};` : `if (${flex}) ${compact}; else ${classic};`;
  switch (t.name) {
    case 'bool':
      o.line(`w.writeBool(${x});`);
      return;
    case 'int8':
      o.line(`w.writeInt8(${x});`);
      return;
    case 'int16':
      o.line(`w.writeInt16(${x});`);
      return;
    case 'int32':
      o.line(`w.writeInt32(${x});`);
      return;
    case 'int64':
      o.line(`w.writeInt64(${x});`);
      return;
    case 'uint16':
      o.line(`w.writeUInt16(${x});`);
      return;
    case 'uint32':
      o.line(`w.writeUInt32(${x});`);
      return;
    case 'float64':
      o.line(`w.writeFloat64(${x});`);
      return;
    case 'uuid':
      o.line(`w.writeUuid(${x});`);
      return;
    case 'string':
      if (nullable !== 'true') {
        o.line(
          `if (${x} === null${nullable === 'false' ? '' : ` && !(${nullable})`}) throw new TypeError('${label} is not nullable in version ' + v);`,
        );
      }
      o.line(pick(`w.writeCompactNullableString(${x})`, `w.writeNullableString(${x})`));
      return;
    case 'bytes':
    case 'records':
      if (nullable !== 'true') {
        o.line(
          `if (${x} === null${nullable === 'false' ? '' : ` && !(${nullable})`}) throw new TypeError('${label} is not nullable in version ' + v);`,
        );
      }
      if (t.name === 'records') o.line(pick(`w.writeCompactNullableRecords(${x})`, `w.writeNullableRecords(${x})`));
      else o.line(pick(`w.writeCompactNullableBytes(${x})`, `w.writeNullableBytes(${x})`));
      return;
  }
}

/** The expression testing a tagged field's value against its default (written only when it differs). */
function differsFromDefault(f: FieldModel, x: string): string {
  const t = f.type;
  const d = defaultExpr(f);
  if (t.kind === 'array') return d === 'null' ? `${x} !== null` : `${x} === null || ${x}.length > 0`;
  if (t.kind === 'struct') return d === 'null' ? `${x} !== null` : `!isDefaultValue(${x}, ${d})`;
  switch (t.name) {
    case 'bytes':
    case 'records':
      return d === 'null' ? `${x} !== null` : `${x} === null || ${x}.length > 0`;
    default:
      return `${x} !== ${d}`;
  }
}

function emitEncoder(o: Out, msg: MessageModel, s: StructModel, isRoot: boolean): void {
  const ctx: Ctx = { msg, struct: s, within: s.versions, tmp: 0 };
  o.open(`export function encode${s.typeName}(w: Writer, m: ${s.typeName}Init, v: number): void {`);
  if (isRoot) {
    o.line(
      `if (v < ${s.versions.lo} || v > ${s.versions.hi}) throw new RangeError('${s.typeName} has no version ' + v);`,
    );
  }
  const flexCond = versionCond(msg.flexibleVersions, ctx.within);
  o.line(`const flex = ${flexCond};`);
  if (flexCond === 'false' || flexCond === 'true') o.line('void flex;');
  const tagged: FieldModel[] = [];
  for (const f of s.fields) {
    const present = versionCond(f.versions, ctx.within);
    if (present === 'false') continue;
    // A tagged field is tagged in every version it exists in: it is written only in the tagged section.
    if (f.tag !== undefined && !isEmpty(f.taggedVersions)) {
      tagged.push(f);
      continue;
    }
    const x = `m.${f.prop}`;
    const val = fresh(ctx, 'f');
    const body = (out: Out) =>
      narrowed(ctx, f.versions, () => {
        out.line(`const ${val} = ${x} === undefined ? ${defaultExpr(f)} : ${x};`);
        emitWrite(
          out,
          ctx,
          f.type,
          val,
          fieldFlexCond(ctx, f),
          versionCond(f.nullableVersions, ctx.within),
          `${s.typeName}.${f.prop}`,
        );
      });
    if (present === 'true') {
      o.open('{');
      body(o);
      o.close();
    } else {
      o.open(`if (${present}) {`);
      body(o);
      o.close();
    }
  }
  if (flexCond !== 'false') {
    o.open('if (flex) {');
    if (tagged.length === 0) {
      o.line('const u = m.unknownTaggedFields;');
      o.line('if (u === undefined || u.length === 0) w.writeUVarint(0);');
      o.line('else w.writeTaggedFields(u);');
    } else {
      o.line('const tags: TaggedField[] = [];');
      const sorted = [...tagged].sort((a, b) => (a.tag as number) - (b.tag as number));
      for (const f of sorted) {
        const cond = versionCond(intersect(f.versions, f.taggedVersions), ctx.within);
        if (cond === 'false') continue;
        const x = `m.${f.prop}`;
        const val = fresh(ctx, 't');
        o.open(cond === 'true' ? '{' : `if (${cond}) {`);
        o.line(`const ${val} = ${x};`);
        o.open(`if (${val} !== undefined && (${differsFromDefault(f, val)})) {`);
        o.line(`const tw = new Writer(64);`);
        const inner = new Out();
        emitWrite(
          inner,
          ctx,
          f.type,
          val,
          'true',
          versionCond(f.nullableVersions, ctx.within),
          `${s.typeName}.${f.prop}`,
        );
        for (const l of inner.lines) o.line(l.replace(/\bw\./g, 'tw.').replace(/\(w, /g, '(tw, '));
        o.line(`tags.push({ tag: ${f.tag}, data: tw.toBuffer() });`);
        o.close();
        o.close();
      }
      o.line('const u = m.unknownTaggedFields;');
      o.open('if (u !== undefined && u.length > 0) {');
      o.line('for (const t of u) tags.push(t);');
      o.line('tags.sort((a, b) => a.tag - b.tag);');
      o.close();
      o.line('w.writeTaggedFields(tags);');
    }
    o.close();
  }
  o.close();
}

// ---------- decoding ----------

function readPrimitive(name: string, flex: string, nullable: string, label: string): string {
  const pick = (compact: string, classic: string) =>
    flex === 'true' ? compact : flex === 'false' ? classic : `(${flex} ? ${compact} : ${classic})`;
  const nn = (nullableRead: string, plainRead: string) =>
    nullable === 'true'
      ? nullableRead
      : nullable === 'false'
        ? plainRead
        : `(${nullable} ? ${nullableRead} : ${plainRead})`;
  void label;
  switch (name) {
    case 'bool':
      return 'r.readBool()';
    case 'int8':
      return 'r.readInt8()';
    case 'int16':
      return 'r.readInt16()';
    case 'int32':
      return 'r.readInt32()';
    case 'int64':
      return 'r.readInt64()';
    case 'uint16':
      return 'r.readUInt16()';
    case 'uint32':
      return 'r.readUInt32()';
    case 'float64':
      return 'r.readFloat64()';
    case 'uuid':
      return 'r.readUuid()';
    case 'string':
      return pick(
        nn('r.readCompactNullableString()', 'r.readCompactString()'),
        nn('r.readNullableString()', 'r.readString()'),
      );
    case 'bytes':
    case 'records':
      return pick(
        nn('r.readCompactNullableBytes()', 'r.readCompactBytes()'),
        nn('r.readNullableBytes()', 'r.readBytes()'),
      );
  }
  throw new Error(`unknown primitive ${name}`);
}

function minSizeExpr(ctx: Ctx, t: FieldType, flex: string, minTables: Map<string, number[]>): string {
  if (t.kind === 'struct') {
    const name = `MIN_${t.struct.typeName}`;
    if (!minTables.has(name)) {
      const table: number[] = [];
      const hiV = Number.isFinite(ctx.msg.validVersions.hi) ? ctx.msg.validVersions.hi : ctx.msg.validVersions.lo;
      for (let v = 0; v <= hiV; v++) {
        table.push(Math.max(1, structMinSize(t.struct, v, contains(ctx.msg.flexibleVersions, v))));
      }
      minTables.set(name, table);
    }
    return `(${name}[v] ?? 1)`;
  }
  const compact = minSize(t, 0, true, false);
  const classic = minSize(t, 0, false, false);
  if (compact === classic || flex === 'false') return String(classic);
  if (flex === 'true') return String(compact);
  return `(${flex} ? ${compact} : ${classic})`;
}

function emitRead(
  o: Out,
  ctx: Ctx,
  t: FieldType,
  target: string,
  flex: string,
  nullable: string,
  label: string,
  minTables: Map<string, number[]>,
): void {
  if (t.kind === 'array') {
    const n = fresh(ctx, 'n');
    const a = fresh(ctx, 'a');
    const i = fresh(ctx, 'i');
    const min = minSizeExpr(ctx, t.element, flex, minTables);
    const lenRead =
      flex === 'true'
        ? `r.readCompactArrayLength(${min})`
        : flex === 'false'
          ? `r.readArrayLength(${min})`
          : `(${flex} ? r.readCompactArrayLength(${min}) : r.readArrayLength(${min}))`;
    o.line(`const ${n} = ${lenRead};`);
    o.open(`if (${n} < 0) {`);
    if (nullable === 'false') {
      o.line(`throw new DecodeError('null array for ${label}', r.pos);`);
    } else {
      if (nullable !== 'true') o.line(`if (!(${nullable})) throw new DecodeError('null array for ${label}', r.pos);`);
      o.line(`${target} = null;`);
    }
    o.mid('} else {');
    o.line(`const ${a}: ${tsType(t.element, false)}[] = new Array(${n});`);
    o.open(`for (let ${i} = 0; ${i} < ${n}; ${i}++) {`);
    if (t.element.kind === 'primitive') {
      o.line(`${a}[${i}] = ${readPrimitive(t.element.name, flex, 'false', label)};`);
    } else if (t.element.kind === 'struct') {
      o.line(`${a}[${i}] = decode${t.element.struct.typeName}(r, v);`);
    } else {
      throw new Error(`nested arrays are not supported (${label})`);
    }
    o.close();
    o.line(`${target} = ${a};`);
    o.close();
    return;
  }
  if (t.kind === 'struct') {
    if (nullable === 'false') {
      o.line(`${target} = decode${t.struct.typeName}(r, v);`);
      return;
    }
    const p = fresh(ctx, 'p');
    o.line(`const ${p} = r.readInt8();`);
    if (nullable !== 'true') {
      o.line(`if (${p} < 0 && !(${nullable})) throw new DecodeError('null struct for ${label}', r.pos);`);
    }
    o.line(`${target} = ${p} < 0 ? null : decode${t.struct.typeName}(r, v);`);
    return;
  }
  o.line(`${target} = ${readPrimitive(t.name, flex, nullable, label)};`);
}

function emitDecoder(
  o: Out,
  msg: MessageModel,
  s: StructModel,
  isRoot: boolean,
  minTables: Map<string, number[]>,
): void {
  const ctx: Ctx = { msg, struct: s, within: s.versions, tmp: 0 };
  o.open(`export function decode${s.typeName}(r: Reader, v: number): ${s.typeName} {`);
  if (isRoot) {
    o.line(
      `if (v < ${s.versions.lo} || v > ${s.versions.hi}) throw new DecodeError('${s.typeName} has no version ' + v);`,
    );
  }
  const flexCond = versionCond(msg.flexibleVersions, ctx.within);
  o.line(`const flex = ${flexCond};`);
  if (flexCond === 'false' || flexCond === 'true') o.line('void flex;');
  const vars = new Map<FieldModel, string>();
  const tagged: FieldModel[] = [];
  for (const f of s.fields) {
    const local = `_${f.prop}`;
    vars.set(f, local);
    o.line(`let ${local}: ${fieldTsType(f, false)} = ${defaultExpr(f)};`);
  }
  for (const f of s.fields) {
    const local = vars.get(f) as string;
    if (f.tag !== undefined && !isEmpty(f.taggedVersions)) {
      tagged.push(f);
      continue;
    }
    const present = versionCond(f.versions, ctx.within);
    if (present === 'false') continue;
    const read = () =>
      narrowed(ctx, f.versions, () => {
        const nullable = versionCond(f.nullableVersions, ctx.within);
        emitRead(o, ctx, f.type, local, fieldFlexCond(ctx, f), nullable, `${s.typeName}.${f.prop}`, minTables);
      });
    if (present === 'true') {
      read();
    } else {
      o.open(`if (${present}) {`);
      read();
      o.close();
    }
  }
  o.line('let unknown: TaggedField[] | undefined;');
  if (flexCond !== 'false') {
    o.open('if (flex) {');
    o.line('const count = r.readUVarint();');
    o.line(`if (count > r.remaining) throw new DecodeError('tagged field count exceeds frame', r.pos);`);
    o.line('let last = -1;');
    o.open('for (let i = 0; i < count; i++) {');
    o.line('const tag = r.readUVarint();');
    o.line(`if (tag <= last) throw new DecodeError('tagged fields out of order', r.pos);`);
    o.line('last = tag;');
    o.line('const size = r.readUVarint();');
    o.line(`if (size > r.remaining) throw new DecodeError('tagged field exceeds frame', r.pos);`);
    o.line('const end = r.pos + size;');
    if (tagged.length > 0) {
      o.open('switch (tag) {');
      const sorted = [...tagged].sort((a, b) => (a.tag as number) - (b.tag as number));
      for (const f of sorted) {
        const cond = versionCond(intersect(f.versions, f.taggedVersions), ctx.within);
        o.open(`case ${f.tag}:`);
        o.open(cond === 'true' ? '{' : `if (${cond}) {`);
        emitRead(
          o,
          ctx,
          f.type,
          vars.get(f) as string,
          'true',
          versionCond(f.nullableVersions, ctx.within),
          `${s.typeName}.${f.prop}`,
          minTables,
        );
        o.line(`if (r.pos !== end) throw new DecodeError('tagged field ${f.tag} has the wrong size', r.pos);`);
        o.line('continue;');
        o.close();
        o.line('break;');
        o.close('');
        o.lines.pop();
      }
      o.close();
    }
    o.line('(unknown ??= []).push({ tag, data: r.readRaw(size) });');
    o.close();
    o.close();
  }
  o.open(`const out: ${s.typeName} = {`);
  for (const f of s.fields) o.line(`${f.prop}: ${vars.get(f)},`);
  o.close('};');
  o.line('if (unknown !== undefined) out.unknownTaggedFields = unknown;');
  o.line('return out;');
  o.close();
}

function fieldTsType(f: FieldModel, init: boolean): string {
  const base = tsType(f.type, init);
  return isNullableAnywhere(f) ? `${base} | null` : base;
}

function emitTypes(o: Out, s: StructModel): void {
  o.open(`export interface ${s.typeName} {`);
  for (const f of s.fields) o.line(`${f.prop}: ${fieldTsType(f, false)};`);
  o.line('unknownTaggedFields?: TaggedField[];');
  o.close();
  o.line();
  o.open(`export interface ${s.typeName}Init {`);
  for (const f of s.fields) o.line(`${f.prop}?: ${fieldTsType(f, true)};`);
  o.line('unknownTaggedFields?: readonly TaggedField[];');
  o.close();
  o.line();
  o.open(`export function default${s.typeName}(): ${s.typeName} {`);
  if (s.fields.length === 0) {
    o.line('return {};');
  } else {
    o.open('return {');
    for (const f of s.fields) o.line(`${f.prop}: ${defaultExpr(f)},`);
    o.close('};');
  }
  o.close();
}

export interface EmittedFile {
  readonly path: string;
  readonly content: string;
}

export function emitMessagesFile(models: MessageModel[], sources: string[]): string {
  const o = new Out();
  o.line(`// Generated by \`npm run generate\` (codegen/main.ts) from ${sources.join(', ')}. Do not edit.`);
  o.line('/* eslint-disable */');
  o.line(
    "import { DecodeError, EMPTY_BUFFER, isDefaultValue, type Reader, type TaggedField, Writer, ZERO_UUID } from '../../primitives/codegen-support.js';",
  );
  o.line();
  const minTables = new Map<string, number[]>();
  const body = new Out();
  for (const m of models) {
    for (const s of m.structs) {
      emitTypes(body, s);
      body.line();
      emitEncoder(body, m, s, s === m.root);
      body.line();
      emitDecoder(body, m, s, s === m.root, minTables);
      body.line();
    }
  }
  for (const [name, table] of [...minTables.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    o.line(`const ${name}: readonly number[] = [${table.join(', ')}];`);
  }
  if (minTables.size > 0) o.line();
  o.line('void EMPTY_BUFFER;');
  o.line('void ZERO_UUID;');
  o.line('void isDefaultValue;');
  o.line();
  const text = [...o.lines, ...body.lines].join('\n');
  return `${text.replace(/\n+$/, '')}\n`;
}
