/**
 * What generated codecs import: the reader, writer and decode error, plus the few runtime
 * helpers they need. Kept in one module so generated files have a single import line.
 */
export { DecodeError } from './decode-error.js';
export { Reader, type TaggedField, ZERO_UUID } from './reader.js';
export { Writer } from './writer.js';

export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

/** Structural equality of a decoded value and a schema default (tagged struct fields). */
export function isDefaultValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
    return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!isDefaultValue(a[i], b[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k of Object.keys(bo)) if (!isDefaultValue(ao[k], bo[k])) return false;
  for (const k of Object.keys(ao)) {
    if (k === 'unknownTaggedFields') {
      const u = ao[k] as unknown[] | undefined;
      if (u !== undefined && u.length > 0) return false;
      continue;
    }
    if (!(k in bo)) return false;
  }
  return true;
}
