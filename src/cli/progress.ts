/**
 * produce's progress line on stderr: records sent, records/s, MB/s and, when the size of the
 * input is known (a file, or stdin redirected from one), the share of it read. Drawn when
 * stderr is a terminal (redrawn in place) or when asked for (--progress: one line per update,
 * so a log or a test can read it), at most every 100 ms.
 */
export class Progress {
  private last = 0;
  private readonly started = performance.now();
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    /** Bytes of input in all, or null when unknown (a pipe). */
    private readonly totalBytes: number | null,
    private readonly enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  update(records: number, bytes: number, force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    let line = `${this.label}: ${records} records, ${Math.round(records / secs)} records/s, ${(bytes / 1024 / 1024 / secs).toFixed(2)} MB/s`;
    if (this.totalBytes !== null && this.totalBytes > 0) {
      line += `, ${Math.min(100, Math.floor((bytes / this.totalBytes) * 100))}%`;
    }
    this.stream.write(this.tty ? `\r${line}\u001b[K` : `${line}\n`);
  }

  done(records: number, bytes: number): void {
    if (!this.enabled) return;
    this.update(records, bytes, true);
    if (this.tty) this.stream.write('\n');
  }
}
