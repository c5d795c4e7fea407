// Types for the JavaScript-only packages the client helpers load.

declare module 'kafkajs-snappy' {
  /** The kafkajs codec factory (raw Snappy out; raw or xerial-framed Snappy in). */
  const SnappyCodec: () => {
    compress(encoder: { buffer: Buffer }): Promise<Buffer>;
    decompress(buffer: Buffer): Promise<Buffer>;
  };
  export = SnappyCodec;
}
