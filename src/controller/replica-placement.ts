// Replica placement for new partitions (Kafka's StripedReplicaPlacer, KIP-631).
//
// Brokers are grouped by `broker.rack` (brokers without a rack form one rack of their own).
// Each partition's leader (first replica) comes from the next rack in turn, and inside that
// rack from the next of its unfenced brokers in turn, so leaderships spread evenly over racks
// and over the brokers of each rack. The other replicas are taken one per rack, going round the
// racks after the leader's, so a partition's replicas cover min(RF, racks) racks; only when RF
// exceeds the number of racks does a rack hold two of them (then a different broker of it).
// Fenced brokers are used only as followers, after the unfenced brokers of their rack.
//
// Kafka starts each broker list and the rack list at a random offset and shuffles them after
// every round of as many partitions as there are unfenced brokers (without the shuffle its
// leaders can pile up on one broker of a rack). This placer starts at the partition's index
// (CreatePartitions continues where the topic's partitions end) and keeps a leader turn per
// rack instead of shuffling, so placement is reproducible from the image alone and leaderships
// are balanced exactly rather than on average.

/** A broker the placer may use (Kafka's UsableBroker). */
export interface UsableBroker {
  readonly id: number;
  readonly rack: string | null;
  readonly fenced?: boolean;
}

/** A broker list walked once per iteration epoch, one step further along each epoch (Kafka's BrokerList). */
class BrokerList {
  readonly brokers: number[] = [];
  private index = 0;
  private offset = 0;
  private epoch = 0;

  initialize(offset: number): void {
    this.brokers.sort((a, b) => a - b);
    if (this.brokers.length > 0) this.offset = offset % this.brokers.length;
  }

  /** The next broker of this epoch, or -1 when every broker has been returned in it. */
  next(epoch: number): number {
    const n = this.brokers.length;
    if (n === 0) return -1;
    if (this.epoch !== epoch) {
      this.epoch = epoch;
      this.index = 0;
      this.offset = (this.offset + 1) % n;
    }
    if (this.index >= n) return -1;
    const broker = this.brokers[(this.index + this.offset) % n] as number;
    this.index++;
    return broker;
  }
}

class Rack {
  readonly unfenced = new BrokerList();
  readonly fenced = new BrokerList();
  /** Which unfenced broker leads the next partition this rack leads. */
  private leaderTurn = 0;

  initialize(start: number): void {
    this.unfenced.initialize(start);
    this.fenced.initialize(start);
    this.leaderTurn = start;
  }

  /** The broker to lead the next partition led from this rack, or -1 when it has no unfenced broker. */
  nextLeader(): number {
    const brokers = this.unfenced.brokers;
    if (brokers.length === 0) return -1;
    return brokers[this.leaderTurn++ % brokers.length] as number;
  }

  /** The next broker of this epoch, unfenced ones first. */
  next(epoch: number): number {
    const b = this.unfenced.next(epoch);
    return b >= 0 ? b : this.fenced.next(epoch);
  }
}

/** Racks in name order, no-rack first (Kafka's OptionalStringComparator puts the empty rack first). */
function compareRacks(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/** Kafka's RackList: hands out one partition's replicas at a time. */
class RackList {
  private readonly racks = new Map<string | null, Rack>();
  private readonly rackNames: Array<string | null> = [];
  private epoch = 0;
  private offset: number;

  constructor(brokers: readonly UsableBroker[], start: number) {
    for (const b of brokers) {
      let rack = this.racks.get(b.rack);
      if (rack === undefined) {
        rack = new Rack();
        this.racks.set(b.rack, rack);
        this.rackNames.push(b.rack);
      }
      (b.fenced === true ? rack.fenced : rack.unfenced).brokers.push(b.id);
    }
    for (const rack of this.racks.values()) rack.initialize(start);
    this.rackNames.sort(compareRacks);
    this.offset = this.rackNames.length === 0 ? 0 : start % this.rackNames.length;
  }

  private rack(index: number): Rack {
    return this.racks.get(this.rackNames[index] as string | null) as Rack;
  }

  place(replicationFactor: number): number[] {
    const racks = this.rackNames.length;
    if (this.offset === racks) this.offset = 0;
    const replicas: number[] = [];
    // The leader: the next leader of the first rack, from this partition's rack on, with an unfenced broker.
    let leaderRack = this.offset;
    for (let tried = 0; ; tried++) {
      if (tried === racks) throw new Error('no unfenced broker to lead a partition');
      const b = this.rack(leaderRack).nextLeader();
      if (b >= 0) {
        replicas.push(b);
        break;
      }
      leaderRack = (leaderRack + 1) % racks;
    }
    // The followers: one per rack in turn from the partition's rack, passing over the leader's rack once.
    let rackIndex = this.offset;
    let skip = leaderRack;
    while (replicas.length < replicationFactor) {
      let b = -1;
      // Bounded: every broker is returned once per epoch, and RF is at most the broker count.
      for (let steps = 0; b < 0; steps++) {
        if (steps > 2 * racks + 1) throw new Error('replica placement ran out of brokers');
        if (rackIndex === skip) skip = -1;
        else {
          const rack = this.rack(rackIndex);
          // A broker already chosen (the leader, in its own rack) is passed over: each list
          // returns a broker once per epoch, so this ends.
          do b = rack.next(this.epoch);
          while (b >= 0 && replicas.includes(b));
        }
        rackIndex = (rackIndex + 1) % racks;
      }
      replicas.push(b);
    }
    this.epoch++;
    this.offset++;
    return replicas;
  }
}

/**
 * The replicas of `numPartitions` new partitions, numbered from `firstPartition`, each with
 * `replicationFactor` distinct brokers, first replica the preferred leader. The caller has
 * checked that the factor is positive and at most the number of brokers, and that at least
 * one broker is unfenced.
 */
export function placeReplicas(
  brokers: readonly UsableBroker[],
  numPartitions: number,
  replicationFactor: number,
  firstPartition: number,
): number[][] {
  if (!brokers.some((b) => b.fenced !== true)) throw new Error('no unfenced brokers to place replicas on');
  if (replicationFactor <= 0 || replicationFactor > brokers.length) {
    throw new Error(`cannot place ${replicationFactor} replicas on ${brokers.length} brokers`);
  }
  const list = new RackList(brokers, firstPartition);
  const out: number[][] = [];
  for (let p = 0; p < numPartitions; p++) out.push(list.place(replicationFactor));
  return out;
}

/** Placement over brokers without racks: round-robin, each partition's list one broker further along. */
export function assignReplicas(
  brokers: readonly number[],
  numPartitions: number,
  replicationFactor: number,
  firstPartition: number,
): number[][] {
  if (brokers.length === 0) throw new Error('no brokers to place replicas on');
  return placeReplicas(
    brokers.map((id) => ({ id, rack: null })),
    numPartitions,
    replicationFactor,
    firstPartition,
  );
}
