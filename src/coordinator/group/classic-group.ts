/**
 * One classic (pre-KIP-848) consumer group: its state machine, members, generation, selected
 * protocol and leader, static members (KIP-345) and members that were handed an id but have
 * not joined with it yet (KIP-394). Pure data and rules; timers, responses and records are the
 * coordinator core's business (group-coordinator.ts).
 *
 * States, as in Kafka:
 *   Empty               no members (or only committed offsets); a join starts the first rebalance
 *   PreparingRebalance  members are (re)joining; heartbeats answer REBALANCE_IN_PROGRESS
 *   CompletingRebalance the generation is chosen; waiting for the leader's assignment
 *   Stable              everyone has an assignment
 *   Dead                being removed; requests get COORDINATOR_NOT_AVAILABLE and retry
 */

import { ErrorCode } from '../../protocol/error-codes.js';
import type { JoinGroupResponseMemberInit } from '../../protocol/generated/api/11-join-group.js';
import { decodeConsumerProtocolSubscription } from '../../protocol/generated/data/consumer-protocol-subscription.js';
import { Reader } from '../../protocol/primitives/reader.js';

export type ClassicGroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const CLASSIC_GROUP_STATES: readonly ClassicGroupState[] = [
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
];

const VALID_PREVIOUS_STATES: Readonly<Record<ClassicGroupState, readonly ClassicGroupState[]>> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

/** The protocol type of the Java consumer and every client that speaks its embedded protocol. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

const EMPTY_BYTES: Buffer = Buffer.alloc(0);

/** One (name, metadata) pair a member supports, in the member's order of preference. */
export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

/** A request parked in the group until the rebalance moves on: the id the shell tracks, and its API version. */
export interface Waiter {
  readonly id: number;
  readonly version: number;
}

export class ClassicGroupMember {
  /** The parked JoinGroup request, if the member is waiting for the join phase to end. */
  awaitingJoin: Waiter | null = null;
  /** The parked SyncGroup request, if the member is waiting for the leader's assignment. */
  awaitingSync: Waiter | null = null;
  /** Joined but not yet through a join phase: such a member has no heartbeat to satisfy. */
  isNew = false;

  constructor(
    readonly memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public supportedProtocols: readonly GroupProtocol[],
    public assignment: Buffer = EMPTY_BYTES,
  ) {}

  get isStaticMember(): boolean {
    return this.groupInstanceId !== null;
  }

  get isAwaitingJoin(): boolean {
    return this.awaitingJoin !== null;
  }

  get isAwaitingSync(): boolean {
    return this.awaitingSync !== null;
  }

  /** The member's metadata for `protocolName`; asking for a protocol it does not support is a bug. */
  metadata(protocolName: string): Buffer {
    for (const p of this.supportedProtocols) if (p.name === protocolName) return p.metadata;
    throw new Error(`member ${this.memberId} does not support protocol ${protocolName}`);
  }

  /**
   * Whether an expiring heartbeat deadline should spare the member: members parked in a
   * rebalance count as alive, except new members, whose parked join can time out (Kafka's
   * new-member join timeout) because they cannot heartbeat without an id.
   */
  hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return false;
    return this.isAwaitingJoin || this.isAwaitingSync;
  }

  /** Same protocols, same order, same metadata bytes. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.supportedProtocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      const a = protocols[i] as GroupProtocol;
      const b = this.supportedProtocols[i] as GroupProtocol;
      if (a.name !== b.name || !a.metadata.equals(b.metadata)) return false;
    }
    return true;
  }

  /** The member's most preferred protocol among `candidates`. */
  vote(candidates: ReadonlySet<string>): string {
    for (const p of this.supportedProtocols) if (candidates.has(p.name)) return p.name;
    throw new Error(`member ${this.memberId} supports none of the candidate protocols`);
  }
}

/** When committed offsets of a group may expire (Kafka 2.1+, KIP-211). */
export type OffsetExpirationBase =
  /** Retention counts from when the group became Empty (or from the commit if that time is unknown). */
  | { readonly kind: 'since-empty'; readonly emptySince: number | null }
  /** Retention counts from each offset's commit time. */
  | { readonly kind: 'since-commit' }
  /** Offsets do not expire in the group's current state. */
  | { readonly kind: 'never' };

export interface ClassicGroupInit {
  readonly groupId: string;
  readonly state: ClassicGroupState;
  readonly now: number;
  readonly generationId?: number;
  readonly protocolType?: string | null;
  readonly protocolName?: string | null;
  readonly leaderId?: string | null;
  /** When the group entered its state; null if unknown (records older than GroupMetadataValue v2). */
  readonly currentStateTimestamp?: number | null;
}

export class ClassicGroup {
  readonly groupId: string;
  private _state: ClassicGroupState;
  private _previousState: ClassicGroupState;
  private _currentStateTimestamp: number | null;
  protocolType: string | null;
  protocolName: string | null;
  generationId: number;
  private _leaderId: string | null;
  private readonly members = new Map<string, ClassicGroupMember>();
  /** group.instance.id → current member id (KIP-345). */
  private readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED and not yet used to join (KIP-394). */
  private readonly pendingJoinMembers = new Set<string>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  private readonly pendingSyncMembers = new Set<string>();
  private numMembersAwaitingJoin = 0;
  /** Protocol name → number of members that support it. */
  private readonly supportedProtocolCounts = new Map<string, number>();
  /** Topics the members subscribe to, when the group speaks the consumer protocol and it parses. */
  private _subscribedTopics: ReadonlySet<string> | null = null;
  /** Set when a member joins during the initial rebalance, which then waits a little longer. */
  newMemberAdded = false;

  constructor(init: ClassicGroupInit) {
    this.groupId = init.groupId;
    this._state = init.state;
    this._previousState = init.state;
    this._currentStateTimestamp = init.currentStateTimestamp === undefined ? init.now : init.currentStateTimestamp;
    this.generationId = init.generationId ?? 0;
    this.protocolType = init.protocolType ?? null;
    this.protocolName = init.protocolName ?? null;
    this._leaderId = init.leaderId ?? null;
  }

  get state(): ClassicGroupState {
    return this._state;
  }

  get previousState(): ClassicGroupState {
    return this._previousState;
  }

  get currentStateTimestamp(): number | null {
    return this._currentStateTimestamp;
  }

  get leaderId(): string | null {
    return this._leaderId;
  }

  get subscribedTopics(): ReadonlySet<string> | null {
    return this._subscribedTopics;
  }

  is(state: ClassicGroupState): boolean {
    return this._state === state;
  }

  transitionTo(state: ClassicGroupState, now: number): void {
    if (!VALID_PREVIOUS_STATES[state].includes(this._state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this._state} -> ${state}`);
    }
    this._previousState = this._state;
    this._state = state;
    this._currentStateTimestamp = now;
  }

  /** Whether a rebalance can start now (PreparingRebalance is reachable). */
  canRebalance(): boolean {
    return VALID_PREVIOUS_STATES.PreparingRebalance.includes(this._state);
  }

  get size(): number {
    return this.members.size;
  }

  hasMember(memberId: string): boolean {
    return this.members.has(memberId);
  }

  member(memberId: string): ClassicGroupMember {
    const m = this.members.get(memberId);
    if (m === undefined) throw new Error(`group ${this.groupId} has no member ${memberId}`);
    return m;
  }

  allMembers(): IterableIterator<ClassicGroupMember> {
    return this.members.values();
  }

  memberIds(): string[] {
    return [...this.members.keys()];
  }

  isLeader(memberId: string): boolean {
    return this._leaderId === memberId;
  }

  staticMemberId(groupInstanceId: string): string | null {
    return this.staticMembers.get(groupInstanceId) ?? null;
  }

  numStaticMembers(): number {
    return this.staticMembers.size;
  }

  get numAwaitingJoin(): number {
    return this.numMembersAwaitingJoin;
  }

  /** The longest rebalance timeout among the members: how long a join phase may last. */
  rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) if (m.rebalanceTimeoutMs > t) t = m.rebalanceTimeoutMs;
    return t;
  }

  /** `${clientId or group.instance.id}-${uuid}`, Kafka's member id shape. */
  static generateMemberId(clientId: string, groupInstanceId: string | null, uuid: string): string {
    return `${groupInstanceId ?? clientId}-${uuid}`;
  }

  add(member: ClassicGroupMember, waiter: Waiter | null): void {
    if (member.groupInstanceId !== null) {
      if (this.staticMembers.has(member.groupInstanceId)) {
        throw new Error(`group ${this.groupId} already has static member ${member.groupInstanceId}`);
      }
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.protocolType !== member.protocolType) {
      throw new Error(`group ${this.groupId}: member protocol type ${member.protocolType} != ${this.protocolType}`);
    }
    if (
      !this.supportsProtocols(
        member.protocolType,
        member.supportedProtocols.map((p) => p.name),
      )
    ) {
      throw new Error(`group ${this.groupId}: none of member ${member.memberId}'s protocols is supported`);
    }
    if (this._leaderId === null) this._leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.incrementSupportedProtocols(member);
    member.awaitingJoin = waiter;
    if (waiter !== null) this.numMembersAwaitingJoin++;
    this.pendingJoinMembers.delete(member.memberId);
  }

  /**
   * Removes a member (or a pending member id). Returns requests the member still had parked,
   * which nobody will answer any more (Kafka drops them the same way).
   */
  remove(memberId: string): Waiter[] {
    const dropped: Waiter[] = [];
    const m = this.members.get(memberId);
    if (m !== undefined) {
      this.members.delete(memberId);
      this.decrementSupportedProtocols(m);
      if (m.awaitingJoin !== null) {
        this.numMembersAwaitingJoin--;
        dropped.push(m.awaitingJoin);
        m.awaitingJoin = null;
      }
      if (m.awaitingSync !== null) {
        dropped.push(m.awaitingSync);
        m.awaitingSync = null;
      }
      if (m.groupInstanceId !== null) this.staticMembers.delete(m.groupInstanceId);
    }
    if (this.isLeader(memberId)) {
      const next = this.members.keys().next();
      this._leaderId = next.done ? null : next.value;
    }
    this.pendingJoinMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    return dropped;
  }

  /**
   * Keeps the leader if it rejoined, otherwise hands leadership to any member that did.
   * False when there is no leader, or nobody rejoined.
   */
  maybeElectNewJoinedLeader(): boolean {
    if (this._leaderId === null) return false;
    const leader = this.member(this._leaderId);
    if (leader.isAwaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.isAwaitingJoin) {
        this._leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  /**
   * KIP-345: a known group.instance.id came back with a new member id. The member keeps its
   * protocols, timeouts and assignment under the new id; requests parked by the old id are
   * returned so they can be answered FENCED_INSTANCE_ID.
   */
  replaceStaticMember(
    groupInstanceId: string,
    oldMemberId: string,
    newMemberId: string,
  ): { member: ClassicGroupMember; fencedJoin: Waiter | null; fencedSync: Waiter | null } {
    const old = this.members.get(oldMemberId);
    if (old === undefined) throw new Error(`group ${this.groupId}: cannot replace unknown member ${oldMemberId}`);
    this.members.delete(oldMemberId);
    const fencedJoin = old.awaitingJoin;
    if (fencedJoin !== null) {
      old.awaitingJoin = null;
      this.numMembersAwaitingJoin--;
    }
    const fencedSync = old.awaitingSync;
    old.awaitingSync = null;
    const member = new ClassicGroupMember(
      newMemberId,
      old.groupInstanceId,
      old.clientId,
      old.clientHost,
      old.rebalanceTimeoutMs,
      old.sessionTimeoutMs,
      old.protocolType,
      old.supportedProtocols,
      old.assignment,
    );
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this._leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    return { member, fencedJoin, fencedSync };
  }

  isPendingMember(memberId: string): boolean {
    return this.pendingJoinMembers.has(memberId);
  }

  addPendingMember(memberId: string): void {
    if (this.members.has(memberId)) throw new Error(`group ${this.groupId}: ${memberId} is already a member`);
    this.pendingJoinMembers.add(memberId);
  }

  get numPendingJoinMembers(): number {
    return this.pendingJoinMembers.size;
  }

  addPendingSyncMember(memberId: string): void {
    if (!this.members.has(memberId)) throw new Error(`group ${this.groupId}: pending sync for non-member ${memberId}`);
    this.pendingSyncMembers.add(memberId);
  }

  removePendingSyncMember(memberId: string): void {
    this.pendingSyncMembers.delete(memberId);
  }

  hasReceivedSyncFromAllMembers(): boolean {
    return this.pendingSyncMembers.size === 0;
  }

  allPendingSyncMembers(): string[] {
    return [...this.pendingSyncMembers];
  }

  clearPendingSyncMembers(): void {
    this.pendingSyncMembers.clear();
  }

  notYetRejoinedMembers(): ClassicGroupMember[] {
    const out: ClassicGroupMember[] = [];
    for (const m of this.members.values()) if (!m.isAwaitingJoin) out.push(m);
    return out;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numMembersAwaitingJoin && this.pendingJoinMembers.size === 0;
  }

  /**
   * Whether a member with this protocol type and these protocol names may join: an Empty group
   * accepts any non-empty type and list; otherwise the type must match and at least one of the
   * protocols must be supported by every current member.
   */
  supportsProtocols(memberProtocolType: string, memberProtocolNames: readonly string[]): boolean {
    if (this.is('Empty')) return memberProtocolType !== '' && memberProtocolNames.length > 0;
    if (this.protocolType !== memberProtocolType) return false;
    const n = this.members.size;
    return memberProtocolNames.some((name) => (this.supportedProtocolCounts.get(name) ?? 0) === n);
  }

  /**
   * Kafka's protocol selection: among the protocols every member supports, each member votes
   * for its most preferred one and the most votes win. Ties go to the protocol that received
   * its first vote earliest (members in join order), so the choice is deterministic.
   */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`group ${this.groupId}: cannot select a protocol without members`);
    const n = this.members.size;
    const candidates = new Set<string>();
    for (const [name, count] of this.supportedProtocolCounts) if (count === n) candidates.add(name);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.vote(candidates);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  /**
   * Replaces a member's protocols and timeouts and parks (or un-parks) its JoinGroup.
   * Returns the JoinGroup it had parked before, if a new one replaces it.
   */
  updateMember(
    member: ClassicGroupMember,
    protocols: readonly GroupProtocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    waiter: Waiter | null,
  ): Waiter | null {
    this.decrementSupportedProtocols(member);
    member.supportedProtocols = protocols;
    this.incrementSupportedProtocols(member);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    const previous = member.awaitingJoin;
    if (waiter !== null && previous === null) this.numMembersAwaitingJoin++;
    else if (waiter === null && previous !== null) this.numMembersAwaitingJoin--;
    member.awaitingJoin = waiter;
    return waiter !== null && previous !== null && previous.id !== waiter.id ? previous : null;
  }

  /** Un-parks the member's JoinGroup so it can be answered; null if it had none. */
  takeJoinWaiter(member: ClassicGroupMember): Waiter | null {
    const w = member.awaitingJoin;
    if (w === null) return null;
    member.awaitingJoin = null;
    this.numMembersAwaitingJoin--;
    return w;
  }

  /** Un-parks the member's SyncGroup so it can be answered; null if it had none. */
  takeSyncWaiter(member: ClassicGroupMember): Waiter | null {
    const w = member.awaitingSync;
    member.awaitingSync = null;
    return w;
  }

  /** Ends a join phase: next generation, protocol chosen by vote, CompletingRebalance (or Empty). */
  initNextGeneration(now: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this._subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance', now);
    } else {
      this.protocolName = null;
      this._subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty', now);
    }
    this.pendingSyncMembers.clear();
  }

  /** What the leader receives in its JoinGroup response: every member with its metadata for the chosen protocol. */
  currentMemberMetadata(): JoinGroupResponseMemberInit[] {
    if (this.is('Dead') || this.is('PreparingRebalance') || this.protocolName === null) {
      throw new Error(`group ${this.groupId}: no member metadata in state ${this._state}`);
    }
    const protocol = this.protocolName;
    const out: JoinGroupResponseMemberInit[] = [];
    for (const m of this.members.values()) {
      out.push({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(protocol) });
    }
    return out;
  }

  /** Every member's current assignment. */
  groupAssignment(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const m of this.members.values()) out.set(m.memberId, m.assignment);
    return out;
  }

  /** Recomputed when a generation starts and when the group is loaded (as Kafka does). */
  refreshSubscribedTopics(): void {
    this._subscribedTopics = this.computeSubscribedTopics();
  }

  /**
   * The union of the members' subscribed topics when the group speaks the consumer protocol.
   * Every version of the subscription starts with the v0 layout, so v0 is enough to read the
   * topics; null when the type is not "consumer", no protocol is chosen, or metadata does not parse.
   */
  computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    try {
      for (const m of this.members.values()) {
        const r = new Reader(m.metadata(this.protocolName));
        const version = r.readInt16();
        if (version < 0) return null;
        for (const t of decodeConsumerProtocolSubscription(r, 0).topics) topics.add(t);
      }
    } catch {
      return null;
    }
    return topics;
  }

  /** When unknown, a consumer group counts as subscribed to everything (the safe answer for OffsetDelete). */
  isSubscribedToTopic(topic: string): boolean {
    if (this._subscribedTopics !== null) return this._subscribedTopics.has(topic);
    return this.protocolType === CONSUMER_PROTOCOL_TYPE;
  }

  /**
   * If `groupInstanceId` is given it must map to `memberId` (else FENCED_INSTANCE_ID, or
   * UNKNOWN_MEMBER_ID when the instance is unknown); the member must exist.
   */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const existing = this.staticMembers.get(groupInstanceId);
      if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (existing !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /**
   * Who may commit offsets. Generation -1 from a client without group management (or an admin)
   * is fine while the group is Empty; anything naming a member or a generation must match the
   * current generation; an anonymous commit to a live group is UNKNOWN_MEMBER_ID; and during
   * CompletingRebalance members are told REBALANCE_IN_PROGRESS.
   */
  validateOffsetCommit(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && this.is('Empty')) return ErrorCode.NONE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const err = this.validateMember(memberId, groupInstanceId);
      if (err !== ErrorCode.NONE) return err;
      if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!this.is('Empty')) {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (this.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  /** Kafka 2.1+ offset retention (KIP-211): depends on the protocol type and state. */
  offsetExpirationBase(): OffsetExpirationBase {
    if (this.protocolType === null) return { kind: 'since-commit' };
    if (this.is('Empty')) return { kind: 'since-empty', emptySince: this._currentStateTimestamp };
    if (this.protocolType === CONSUMER_PROTOCOL_TYPE && this._subscribedTopics !== null && this.is('Stable')) {
      return { kind: 'since-commit' };
    }
    return { kind: 'never' };
  }

  private incrementSupportedProtocols(member: ClassicGroupMember): void {
    for (const p of member.supportedProtocols) {
      this.supportedProtocolCounts.set(p.name, (this.supportedProtocolCounts.get(p.name) ?? 0) + 1);
    }
  }

  private decrementSupportedProtocols(member: ClassicGroupMember): void {
    for (const p of member.supportedProtocols) {
      const n = (this.supportedProtocolCounts.get(p.name) ?? 0) - 1;
      if (n <= 0) this.supportedProtocolCounts.delete(p.name);
      else this.supportedProtocolCounts.set(p.name, n);
    }
  }

  /** Throws if the bookkeeping disagrees with itself. Cheap enough for tests after every step. */
  checkInvariants(): void {
    const fail = (msg: string): never => {
      throw new Error(`group ${this.groupId} (${this._state}, generation ${this.generationId}): ${msg}`);
    };
    let awaiting = 0;
    const counts = new Map<string, number>();
    for (const [id, m] of this.members) {
      if (id !== m.memberId) fail(`member keyed ${id} has id ${m.memberId}`);
      if (m.isAwaitingJoin) awaiting++;
      if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) !== id) {
        fail(`static member ${m.groupInstanceId} does not map to ${id}`);
      }
      for (const p of m.supportedProtocols) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
      if (this.pendingJoinMembers.has(id)) fail(`${id} is both a member and pending`);
    }
    if (awaiting !== this.numMembersAwaitingJoin) fail(`awaiting count ${this.numMembersAwaitingJoin} != ${awaiting}`);
    for (const [instance, id] of this.staticMembers) {
      if (this.members.get(id)?.groupInstanceId !== instance) fail(`static ${instance} -> ${id} is stale`);
    }
    if (counts.size !== this.supportedProtocolCounts.size) fail('protocol counts out of date');
    for (const [name, n] of counts) if (this.supportedProtocolCounts.get(name) !== n) fail(`protocol ${name} count`);
    for (const id of this.pendingSyncMembers) if (!this.members.has(id)) fail(`pending sync ${id} is not a member`);
    if (this.members.size === 0) {
      if (this._leaderId !== null) fail(`leader ${this._leaderId} without members`);
    } else if (this._leaderId === null || !this.members.has(this._leaderId)) {
      fail(`leader ${this._leaderId} is not a member`);
    }
    if (this.is('Empty') && this.members.size > 0) fail('Empty with members');
    if (this.is('Stable') || this.is('CompletingRebalance')) {
      if (this.protocolName === null) fail('no protocol in a live generation');
    }
    // (In Stable a static member that came back may be parked while its new id is persisted.)
    if (this.is('CompletingRebalance')) {
      for (const m of this.members.values()) if (m.isAwaitingJoin) fail(`${m.memberId} awaiting join`);
    }
    if (this.is('Stable')) {
      for (const m of this.members.values()) if (m.isAwaitingSync) fail(`${m.memberId} awaiting sync while Stable`);
    }
    if (!this.is('CompletingRebalance') && !this.is('Stable') && this.pendingSyncMembers.size > 0) {
      fail('pending sync members outside a generation');
    }
  }
}
