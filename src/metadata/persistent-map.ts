/**
 * An immutable map that shares structure between versions: a hash array mapped trie (Bagwell's
 * HAMT) of up to 32 slots per node. Changing one key copies the nodes on its path (at most 7),
 * never the whole map, so a metadata image of many topics costs the same to change as one of few,
 * and old images stay valid while newer ones are built from them (brokers and the snapshot
 * writer read published images for as long as they like).
 *
 * A `MapEditor` applies many changes in a row: nodes it created itself are changed in place,
 * nodes shared with a published map are copied first (Clojure's transients), so n changes cost
 * O(n) node visits whatever the size of the map. `finish()` publishes the result; after it the
 * editor copies again before changing anything it had published.
 *
 * Integer keys from 0 to 2^32-1 are their own hash, taken from the most significant bits down:
 * they iterate in ascending order (partitions in partition order). Other keys iterate in hash
 * order, which depends only on the keys (not on the order they were added).
 */

/** Bits of hash per trie level: 32 slots per node. */
const BITS = 5;
/** Levels 0..6; level 0 takes the top 2 bits of the hash, each other level 5, level 6 the lowest 5. */
const MAX_LEVEL = 6;

/** The shift of level `level`'s 5 bits: 30, 25, 20, 15, 10, 5, 0. */
function shiftOf(level: number): number {
  return 30 - BITS * level;
}

/** Whether every hash a trie rooted at `level` holds is below 2^bits: level 0 holds any 32-bit hash. */
function fitsAt(hash: number, level: number): boolean {
  return hash < (LIMITS[level] as number);
}

/** One above the largest hash a trie rooted at each level holds. */
const LIMITS = Array.from({ length: MAX_LEVEL + 1 }, (_, level) =>
  level === 0 ? 2 ** 32 : 2 ** (shiftOf(level) + BITS),
);

function slotOf(hash: number, level: number): number {
  return (hash >>> shiftOf(level)) & 31;
}

function bitCount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** FNV-1a over UTF-16 code units, finished with murmur3's avalanche so every bit depends on every char. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export type MapKey = string | number;

/** The 32-bit hash a key is placed by (exported for tests of colliding keys). */
export function hashOf(key: MapKey): number {
  if (typeof key === 'number')
    return Number.isInteger(key) && key >= 0 && key <= 0xffffffff ? key : hashString(`#${key}`);
  return hashString(key);
}

/** Who may change a node in place: the editor whose token it carries (null: nobody, it is published). */
type Owner = object | null;

class Leaf<K, V> {
  constructor(
    readonly hash: number,
    readonly key: K,
    readonly value: V,
  ) {}
}

/** Keys whose 32-bit hashes are all equal (below the last level), in the order they came. */
class Collision<K, V> {
  constructor(
    public owner: Owner,
    readonly hash: number,
    public leaves: Leaf<K, V>[],
  ) {}
}

/** Children present for each set bit of `bitmap`, in slot order. */
class Branch<K, V> {
  constructor(
    public owner: Owner,
    public bitmap: number,
    public children: Array<TrieNode<K, V>>,
  ) {}
}

type TrieNode<K, V> = Leaf<K, V> | Collision<K, V> | Branch<K, V>;

const EMPTY_BRANCH = new Branch<never, never>(null, 0, []);

/** Counts the work of an edit: slots copied when a shared node is copied before a change. */
interface EditState {
  readonly owner: object;
  copied: number;
  /** Set when the edit added a key (size +1) or removed one (size -1). */
  sizeChange: number;
}

function branchFor<K, V>(node: Branch<K, V>, edit: EditState): Branch<K, V> {
  if (node.owner === edit.owner) return node;
  edit.copied += node.children.length;
  return new Branch(edit.owner, node.bitmap, node.children.slice());
}

/** A branch at `level` holding two nodes of different hashes (nested as deep as their hashes agree). */
function pair<K, V>(a: Leaf<K, V> | Collision<K, V>, b: Leaf<K, V>, level: number, owner: Owner): TrieNode<K, V> {
  // Two different 32-bit hashes differ at some level up to the last one.
  if (level > MAX_LEVEL) throw new Error(`persistent map: hashes ${a.hash} and ${b.hash} do not differ`);
  const sa = slotOf(a.hash, level);
  const sb = slotOf(b.hash, level);
  if (sa === sb) return new Branch(owner, 1 << sa, [pair(a, b, level + 1, owner)]);
  return new Branch(owner, (1 << sa) | (1 << sb), sa < sb ? [a, b] : [b, a]);
}

function setIn<K, V>(node: Branch<K, V>, level: number, leaf: Leaf<K, V>, edit: EditState): Branch<K, V> {
  const bit = 1 << slotOf(leaf.hash, level);
  const index = bitCount(node.bitmap & (bit - 1));
  if ((node.bitmap & bit) === 0) {
    const b = branchFor(node, edit);
    b.children.splice(index, 0, leaf);
    b.bitmap |= bit;
    edit.sizeChange = 1;
    return b;
  }
  const child = node.children[index] as TrieNode<K, V>;
  let next: TrieNode<K, V>;
  if (child instanceof Leaf) {
    if (child.hash === leaf.hash && Object.is(child.key, leaf.key)) {
      if (Object.is(child.value, leaf.value)) return node;
      next = leaf;
    } else if (child.hash === leaf.hash) {
      next = new Collision(edit.owner, leaf.hash, [child, leaf]);
      edit.sizeChange = 1;
    } else {
      next = pair(child, leaf, level + 1, edit.owner);
      edit.sizeChange = 1;
    }
  } else if (child instanceof Branch) {
    next = setIn(child, level + 1, leaf, edit);
  } else if (child.hash === leaf.hash) {
    next = setInCollision(child, leaf, edit);
  } else {
    next = pair(child, leaf, level + 1, edit.owner);
    edit.sizeChange = 1;
  }
  if (next === child) return node;
  const b = branchFor(node, edit);
  b.children[index] = next;
  return b;
}

function setInCollision<K, V>(node: Collision<K, V>, leaf: Leaf<K, V>, edit: EditState): Collision<K, V> {
  const i = node.leaves.findIndex((l) => Object.is(l.key, leaf.key));
  if (i >= 0 && Object.is((node.leaves[i] as Leaf<K, V>).value, leaf.value)) return node;
  const c = node.owner === edit.owner ? node : new Collision(edit.owner, node.hash, node.leaves.slice());
  if (c !== node) edit.copied += node.leaves.length;
  if (i >= 0) c.leaves[i] = leaf;
  else {
    c.leaves.push(leaf);
    edit.sizeChange = 1;
  }
  return c;
}

/**
 * `node` without `key`: the same node when the key is absent, undefined when nothing is left.
 * A branch left with a single leaf gives way to that leaf (except the root), so the trie of a set
 * of keys has one shape however it was reached.
 */
function deleteIn<K, V>(
  node: TrieNode<K, V>,
  level: number,
  hash: number,
  key: K,
  edit: EditState,
  isRoot: boolean,
): TrieNode<K, V> | undefined {
  if (node instanceof Leaf) {
    if (node.hash !== hash || !Object.is(node.key, key)) return node;
    edit.sizeChange = -1;
    return undefined;
  }
  if (node instanceof Collision) {
    const i = node.leaves.findIndex((l) => Object.is(l.key, key));
    if (i < 0) return node;
    edit.sizeChange = -1;
    if (node.leaves.length === 2) return node.leaves[1 - i];
    const c = node.owner === edit.owner ? node : new Collision(edit.owner, node.hash, node.leaves.slice());
    if (c !== node) edit.copied += node.leaves.length;
    c.leaves.splice(i, 1);
    return c;
  }
  const bit = 1 << slotOf(hash, level);
  if ((node.bitmap & bit) === 0) return node;
  const index = bitCount(node.bitmap & (bit - 1));
  const child = node.children[index] as TrieNode<K, V>;
  const next = deleteIn(child, level + 1, hash, key, edit, false);
  if (next === child) return node;
  if (next === undefined) {
    if (!isRoot && node.children.length === 2) {
      const other = node.children[1 - index] as TrieNode<K, V>;
      if (!(other instanceof Branch)) return other;
    }
    if (!isRoot && node.children.length === 1) return undefined;
    const b = branchFor(node, edit);
    b.children.splice(index, 1);
    b.bitmap &= ~bit;
    return b;
  }
  if (!isRoot && node.children.length === 1 && !(next instanceof Branch)) return next;
  const b = branchFor(node, edit);
  b.children[index] = next;
  return b;
}

function findLeaf<K, V>(root: Branch<K, V>, rootLevel: number, key: K): Leaf<K, V> | undefined {
  const hash = hashOf(key as MapKey);
  if (!fitsAt(hash, rootLevel)) return undefined;
  let node: TrieNode<K, V> = root;
  for (let level = rootLevel; ; level++) {
    if (node instanceof Branch) {
      const bit = 1 << slotOf(hash, level);
      if ((node.bitmap & bit) === 0) return undefined;
      node = node.children[bitCount(node.bitmap & (bit - 1))] as TrieNode<K, V>;
    } else if (node instanceof Leaf) {
      return node.hash === hash && Object.is(node.key, key) ? node : undefined;
    } else {
      if (node.hash !== hash) return undefined;
      for (const l of node.leaves) if (Object.is(l.key, key)) return l;
      return undefined;
    }
  }
}

function* leavesOf<K, V>(node: TrieNode<K, V>): Generator<Leaf<K, V>, void, undefined> {
  if (node instanceof Leaf) yield node;
  else if (node instanceof Collision) yield* node.leaves;
  else for (const c of node.children) yield* leavesOf(c);
}

/** An immutable map: reading it is reading a ReadonlyMap; changes go through `edit()` (or `set`/`delete`). */
export class PersistentMap<K extends MapKey, V> implements ReadonlyMap<K, V> {
  private static readonly EMPTY = new PersistentMap<never, never>(EMPTY_BRANCH, MAX_LEVEL, 0);

  private constructor(
    /** @internal */ readonly root: Branch<K, V>,
    /**
     * @internal The level the root node is at: the lowest that holds every hash, so a map of small
     * integers (a topic's partitions) is one node deep, not seven.
     */
    readonly rootLevel: number,
    readonly size: number,
  ) {}

  static empty<K extends MapKey, V>(): PersistentMap<K, V> {
    return PersistentMap.EMPTY as unknown as PersistentMap<K, V>;
  }

  /** `map` itself when it is a PersistentMap, else a PersistentMap of its entries. */
  static from<K extends MapKey, V>(map: ReadonlyMap<K, V> | Iterable<readonly [K, V]>): PersistentMap<K, V> {
    if (map instanceof PersistentMap) return map as PersistentMap<K, V>;
    const e = PersistentMap.empty<K, V>().edit();
    for (const [k, v] of map as Iterable<readonly [K, V]>) e.set(k, v);
    return e.finish();
  }

  /** @internal */
  static of<K extends MapKey, V>(root: Branch<K, V>, rootLevel: number, size: number): PersistentMap<K, V> {
    return size === 0 ? PersistentMap.empty() : new PersistentMap(root, rootLevel, size);
  }

  get(key: K): V | undefined {
    return findLeaf(this.root, this.rootLevel, key)?.value;
  }

  has(key: K): boolean {
    return findLeaf(this.root, this.rootLevel, key) !== undefined;
  }

  /** A new map with `key` set (this one unchanged). */
  set(key: K, value: V): PersistentMap<K, V> {
    return this.edit().set(key, value).finish();
  }

  /** A new map without `key` (this one unchanged). */
  delete(key: K): PersistentMap<K, V> {
    return this.edit().delete(key).finish();
  }

  /** An editor starting from this map. */
  edit(): MapEditor<K, V> {
    return new MapEditor(this);
  }

  *entries(): MapIterator<[K, V]> {
    for (const l of leavesOf(this.root)) yield [l.key, l.value];
  }

  *keys(): MapIterator<K> {
    for (const l of leavesOf(this.root)) yield l.key;
  }

  *values(): MapIterator<V> {
    for (const l of leavesOf(this.root)) yield l.value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const l of leavesOf(this.root)) fn.call(thisArg, l.value, l.key, this);
  }
}

/**
 * Changes a PersistentMap in a row without copying what it already copied: each change costs
 * the nodes on one path, and a node is copied at most once per editor. The map it started from,
 * and every map it published, stay unchanged.
 */
export class MapEditor<K extends MapKey, V> implements ReadonlyMap<K, V> {
  private root: Branch<K, V>;
  private rootLevel: number;
  private count: number;
  private state: EditState = { owner: {}, copied: 0, sizeChange: 0 };
  private copiedBefore = 0;

  constructor(base: PersistentMap<K, V>) {
    this.root = base.root;
    this.rootLevel = base.rootLevel;
    this.count = base.size;
  }

  get size(): number {
    return this.count;
  }

  /** Slots copied from shared nodes so far: with the changes made, the work done. */
  get copied(): number {
    return this.copiedBefore + this.state.copied;
  }

  get(key: K): V | undefined {
    return findLeaf(this.root, this.rootLevel, key)?.value;
  }

  has(key: K): boolean {
    return findLeaf(this.root, this.rootLevel, key) !== undefined;
  }

  set(key: K, value: V): this {
    const edit = this.state;
    edit.sizeChange = 0;
    const hash = hashOf(key);
    // A hash above what the root holds: the root becomes slot 0 of a new root a level up.
    while (!fitsAt(hash, this.rootLevel)) {
      this.rootLevel--;
      const only = this.root.children.length === 1 ? (this.root.children[0] as TrieNode<K, V>) : undefined;
      // Below the root a branch never holds a lone leaf: the leaf moves up with it.
      if (only !== undefined && !(only instanceof Branch)) this.root = new Branch(edit.owner, 1, [only]);
      else if (this.root.children.length > 0) this.root = new Branch(edit.owner, 1, [this.root]);
    }
    this.root = setIn(this.root, this.rootLevel, new Leaf(hash, key, value), edit);
    this.count += edit.sizeChange;
    return this;
  }

  delete(key: K): this {
    const edit = this.state;
    edit.sizeChange = 0;
    const hash = hashOf(key);
    if (!fitsAt(hash, this.rootLevel)) return this;
    const next = deleteIn(this.root, this.rootLevel, hash, key, edit, true);
    this.root = (next ?? EMPTY_BRANCH) as Branch<K, V>;
    this.count += edit.sizeChange;
    // Down to the lowest root level that holds what is left, as a map built without the key has it.
    if (this.count === 0) {
      this.root = EMPTY_BRANCH as Branch<K, V>;
      this.rootLevel = MAX_LEVEL;
    }
    while (this.rootLevel < MAX_LEVEL && this.root.bitmap === 1) {
      const only = this.root.children[0] as TrieNode<K, V>;
      this.rootLevel++;
      if (only instanceof Branch) this.root = only;
      else this.root = new Branch(edit.owner, 1 << slotOf(only.hash, this.rootLevel), [only]);
    }
    return this;
  }

  /**
   * The map as edited so far. The editor stays usable: what it published is shared from now on,
   * so its next changes copy those nodes first.
   */
  finish(): PersistentMap<K, V> {
    this.copiedBefore += this.state.copied;
    this.state = { owner: {}, copied: 0, sizeChange: 0 };
    return PersistentMap.of(this.root, this.rootLevel, this.count);
  }

  entries(): MapIterator<[K, V]> {
    return this.finishView().entries();
  }

  keys(): MapIterator<K> {
    return this.finishView().keys();
  }

  values(): MapIterator<V> {
    return this.finishView().values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    this.finishView().forEach(fn, thisArg);
  }

  /** A read-only view of the current contents (valid until the next change). */
  private finishView(): PersistentMap<K, V> {
    return PersistentMap.of(this.root, this.rootLevel, this.count);
  }
}
