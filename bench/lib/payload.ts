/** Record values of words and digits, like text payloads (about 1.33:1 with lz4, 1 KiB records in 1 MiB batches). */
export function payload(size: number, seed: number): Buffer {
  const words = ['order', 'id', 'customer', 'amount', 'currency', 'EUR', 'status', 'paid', 'item', 'sku'];
  const b = Buffer.allocUnsafe(size);
  let x = seed * 2654435761 + 1;
  let pos = 0;
  while (pos < size) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = (x & 3) === 0 ? String(x % 1000000) : (words[x % words.length] as string);
    pos += b.write(w, pos, Math.min(w.length, size - pos), 'latin1');
    if (pos < size) b[pos++] = (x >>> 8) & 1 ? 0x20 : 0x2c;
  }
  return b;
}
