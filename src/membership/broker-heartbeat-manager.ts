/**
 * Broker sessions on the active controller (KIP-631): when each registered broker was last heard
 * from, whether its session counts it as fenced, and the metadata offset it last reported.
 * Sessions live in memory only, as in Kafka's BrokerHeartbeatManager: they are not in the
 * metadata log, and a controller that becomes active starts every session afresh. Pure: every
 * method takes the time it runs at. Holds one entry per registered broker (bounded by the image).
 */
interface BrokerSession {
  lastContactMs: number;
  fenced: boolean;
  metadataOffset: bigint;
  /** In controlled shutdown: the offset every other live broker must reach before it may go (null: not shutting down). */
  controlledShutdownOffset: bigint | null;
}

export class BrokerHeartbeatManager {
  private readonly sessions = new Map<number, BrokerSession>();

  constructor(readonly sessionTimeoutMs: number) {}

  /** Starts (or restarts) the session of a broker, as its registration or a new active controller does. */
  register(brokerId: number, fenced: boolean, nowMs: number): void {
    const s = this.sessions.get(brokerId);
    this.sessions.set(brokerId, {
      lastContactMs: nowMs,
      fenced,
      metadataOffset: s !== undefined && s.fenced !== fenced ? s.metadataOffset : -1n,
      controlledShutdownOffset: null,
    });
  }

  /**
   * A heartbeat: the broker is alive now, in the given fencing state, at the given metadata
   * offset, and in controlled shutdown up to the given offset (null: not, or no longer; a fenced
   * broker never is).
   */
  touch(
    brokerId: number,
    fenced: boolean,
    metadataOffset: bigint,
    nowMs: number,
    controlledShutdownOffset: bigint | null = null,
  ): void {
    this.sessions.set(brokerId, {
      lastContactMs: nowMs,
      fenced,
      metadataOffset,
      controlledShutdownOffset: fenced ? null : controlledShutdownOffset,
    });
  }

  /** Marks a session fenced without counting it as contact (a fence decided by the controller). */
  fence(brokerId: number): void {
    const s = this.sessions.get(brokerId);
    if (s !== undefined) {
      s.fenced = true;
      s.controlledShutdownOffset = null;
    }
  }

  /** The broker's controlled shutdown offset, null when it is not shutting down. */
  controlledShutdownOffset(brokerId: number): bigint | null {
    return this.sessions.get(brokerId)?.controlledShutdownOffset ?? null;
  }

  /** The brokers in controlled shutdown. */
  shuttingDown(): Set<number> {
    const out = new Set<number>();
    for (const [id, s] of this.sessions) if (s.controlledShutdownOffset !== null) out.add(id);
    return out;
  }

  /**
   * The lowest metadata offset reported by the unfenced brokers other than `except` that are not
   * shutting down (Kafka's lowestActiveOffset); the largest bigint there is when there are none.
   */
  lowestActiveOffset(except: number): bigint {
    let lowest: bigint | null = null;
    for (const [id, s] of this.sessions) {
      if (id === except || s.fenced || s.controlledShutdownOffset !== null) continue;
      if (lowest === null || s.metadataOffset < lowest) lowest = s.metadataOffset;
    }
    return lowest ?? BigInt(Number.MAX_SAFE_INTEGER);
  }

  remove(brokerId: number): void {
    this.sessions.delete(brokerId);
  }

  has(brokerId: number): boolean {
    return this.sessions.has(brokerId);
  }

  /** Kafka's hasValidSession: unfenced, and heard from within the session timeout. */
  hasValidSession(brokerId: number, nowMs: number): boolean {
    const s = this.sessions.get(brokerId);
    return s !== undefined && !s.fenced && s.lastContactMs + this.sessionTimeoutMs >= nowMs;
  }

  /** The unfenced brokers whose session has expired, oldest contact first. */
  staleBrokers(nowMs: number): number[] {
    const stale: Array<[number, number]> = [];
    for (const [id, s] of this.sessions) {
      if (!s.fenced && s.lastContactMs + this.sessionTimeoutMs < nowMs) stale.push([id, s.lastContactMs]);
    }
    return stale.sort((a, b) => a[1] - b[1] || a[0] - b[0]).map(([id]) => id);
  }

  brokerIds(): IterableIterator<number> {
    return this.sessions.keys();
  }
}
