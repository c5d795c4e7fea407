/** A binary min-heap of timed items; items due at the same time come out in insertion order. */
export class EventQueue<T> {
  private times: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(time: number, item: T): void {
    const s = this.seq++;
    let i = this.items.length;
    this.times.push(time);
    this.seqs.push(s);
    this.items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(time, s, this.times[p]!, this.seqs[p]!)) break;
      this.move(p, i);
      i = p;
    }
    this.set(i, time, s, item);
  }

  peekTime(): number {
    return this.items.length === 0 ? Number.POSITIVE_INFINITY : this.times[0]!;
  }

  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = this.items[0]!;
    const lastTime = this.times.pop()!;
    const lastSeq = this.seqs.pop()!;
    const lastItem = this.items.pop()!;
    if (n === 1) return top;
    let i = 0;
    const m = n - 1;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= m) break;
      const r = l + 1;
      const c = r < m && this.less(this.times[r]!, this.seqs[r]!, this.times[l]!, this.seqs[l]!) ? r : l;
      if (!this.less(this.times[c]!, this.seqs[c]!, lastTime, lastSeq)) break;
      this.move(c, i);
      i = c;
    }
    this.set(i, lastTime, lastSeq, lastItem);
    return top;
  }

  private less(t1: number, s1: number, t2: number, s2: number): boolean {
    return t1 < t2 || (t1 === t2 && s1 < s2);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.items[to] = this.items[from]!;
  }

  private set(i: number, time: number, seq: number, item: T): void {
    this.times[i] = time;
    this.seqs[i] = seq;
    this.items[i] = item;
  }
}
