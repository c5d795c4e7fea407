/** A one-line progress display on stderr, drawn only when stderr is a terminal. */
export class Progress {
  private last = 0;
  private readonly started = Date.now();
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number | null,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
  }

  update(done: number, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const rate = Math.round(done / secs);
    let line = `${this.label}: ${done}`;
    if (this.total !== null && this.total > 0) {
      const pct = Math.min(100, Math.floor((done / this.total) * 100));
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${done}/${this.total}`;
    }
    process.stderr.write(`\r${line} (${rate}/s)\u001b[K`);
  }

  done(done: number): void {
    if (!this.enabled) return;
    this.update(done, true);
    process.stderr.write('\n');
  }
}
