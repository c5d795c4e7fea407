/**
 * Whether this broker may trust its own view of which partitions it leads. A broker cut off
 * from the quorum (paused, partitioned) keeps acting on its last metadata: once the controller
 * has fenced it and moved its leaderships, what it answers as "leader" can be stale. Most stale
 * answers are harmless (reads below its old high watermark are committed data), but one is not:
 * a consumer that has read further at the new leader and asks the stale one for its position is
 * told OFFSET_OUT_OF_RANGE, and a client without KIP-320 leader epochs then resets its position
 * (forward past records, or back). The fetch path asks this lease before giving that answer.
 *
 * The view is current while no fence can have been committed that this broker has not applied:
 * - a follower of the metadata quorum has applied everything committed before time C (the send
 *   time of its latest Fetch whose answer brought it to the leader's high watermark, see
 *   RaftCore.metadataCurrentAsOf); a fence after C needs the controller to have heard nothing
 *   for `broker.session.timeout.ms` after this broker's last heartbeat it received, so with H
 *   the send time of the latest successful heartbeat sent at or before C, the view holds until
 *   H + session timeout;
 * - the quorum leader is current as of the time a majority of voters had fetched from it; a
 *   new controller, elected later, waits a whole session before fencing it.
 */
export interface MetadataCurrency {
  /** RaftCore.metadataCurrentAsOf: since when, and up to which offset, the log is known current. */
  currentAsOf(): { readonly at: number; readonly offset: number };
  /** The next metadata offset to apply (everything below it is in the image). */
  appliedOffset(): number;
  /** Whether this node leads the metadata quorum. */
  isQuorumLeader(): boolean;
}

/** How many successful heartbeat send times are remembered (a few rounds are plenty). */
const HEARTBEATS_KEPT = 16;

export class LeadershipLease {
  /** Send times of heartbeats the controller answered (unfenced), ascending. */
  private readonly heartbeats: number[] = [];
  private currentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sessionTimeoutMs: number,
    private readonly now: () => number,
    private readonly metadata: MetadataCurrency,
  ) {}

  /** A heartbeat sent at `sentAt` was answered without error and not fenced. */
  heartbeatAnswered(sentAt: number): void {
    const h = this.heartbeats;
    if (h.length > 0 && sentAt <= (h[h.length - 1] as number)) return;
    h.push(sentAt);
    if (h.length > HEARTBEATS_KEPT) h.shift();
  }

  /** Whether the leaderships in this broker's metadata can be acted on now. */
  valid(): boolean {
    const c = this.metadata.currentAsOf();
    const applied = this.metadata.appliedOffset() >= c.offset;
    const now = this.now();
    if (this.metadata.isQuorumLeader() && applied) return now < c.at + this.sessionTimeoutMs;
    if (applied && c.at > this.currentAt) this.currentAt = c.at;
    let anchor = Number.NEGATIVE_INFINITY;
    for (const t of this.heartbeats) if (t <= this.currentAt) anchor = t;
    return now < anchor + this.sessionTimeoutMs;
  }
}
