export { DecodeError, isDecodeError } from './decode-error.js';
export { Reader, type TaggedField, ZERO_UUID } from './reader.js';
export { encodeToBuffer, Writer } from './writer.js';
