/**
 * The effective broker configuration. Values come from, in increasing precedence:
 *
 *   catalogue default < properties file < JOCKO_* environment < --set flags
 *     < dynamic cluster-wide default < dynamic per-broker value (AlterConfigs)
 *
 * The file, the environment and the flags together are what Kafka calls the static
 * configuration (source STATIC_BROKER_CONFIG); each value remembers which of them it came
 * from, for messages and the CLI. A BrokerConfig is immutable: dynamic changes produce a new
 * one with `withDynamicConfigs`.
 *
 * Keys that share a meaning (log.retention.ms / .minutes / .hours, log.roll.ms / .hours,
 * log.flush.interval.ms / log.flush.scheduler.interval.ms, log.dirs / log.dir) are resolved
 * source by source: the highest source that sets any of them wins, and within one source the
 * more precise key wins (ms > minutes > hours, as Kafka). The DescribeConfigs synonym list is
 * built in the same order, so its first entry always names the value in force.
 */
import { parsePerIpOverrides } from '../network/connection-quotas.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { BROKER_CONFIGS, brokerConfigDef, THREAD_POOL_CONFIGS } from './broker-configs.js';
import {
  type BrokerConfigDef,
  type BrokerSynonym,
  ConfigSource,
  type ConfigSourceId,
  type ConfigSynonymEntry,
  type ConfigValue,
  configTypeId,
  type DescribedConfig,
} from './config-def.js';
import { type ConfigProblem, formatValue, parseValue } from './config-values.js';
import { unsupportedListenerNames, unsupportedListenersMessage, unsupportedSettingMessage } from './plaintext-only.js';
import { parseProperties } from './properties.js';
import { TOPIC_CONFIGS, topicConfigDef } from './topic-configs.js';

/** Where a value came from, finer than Kafka's ConfigSource. */
export type SettingOrigin = 'default' | 'file' | 'env' | 'flag' | 'dynamic-default' | 'dynamic-broker';

/** A problem found while resolving configuration, with where it was written. */
export interface ConfigIssue {
  readonly name: string;
  readonly origin: SettingOrigin;
  /** "server.properties:12", "JOCKO_NUM_PARTITIONS", "--set num.partitions", "dynamic config". */
  readonly where: string;
  readonly message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.where}: ${issue.message}`;
}

export interface BrokerConfigInput {
  /** Contents of a .properties file. */
  readonly propertiesText?: string;
  /** Its path, only for messages. */
  readonly propertiesPath?: string;
  /** Usually process.env; only JOCKO_* variables are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `--set key=value` flags, already split (see parseSetFlags), or an embedder's settings. */
  readonly overrides?: Readonly<Record<string, string>>;
  /** How messages name where an override was written (default `--set NAME`). */
  readonly overrideWhere?: (name: string) => string;
  /** Dynamic cluster-wide defaults (AlterConfigs on the broker resource ""). */
  readonly dynamicDefaults?: Readonly<Record<string, string>>;
  /** Dynamic values for this broker (AlterConfigs on the broker resource "<id>"). */
  readonly dynamicBroker?: Readonly<Record<string, string>>;
}

export type BrokerConfigResult =
  | { readonly ok: true; readonly config: BrokerConfig; readonly warnings: readonly ConfigIssue[] }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[]; readonly warnings: readonly ConfigIssue[] };

export const ENV_PREFIX = 'JOCKO_';

/** JOCKO_* variables that are not broker configs (read elsewhere), so never warned about. */
export const NON_CONFIG_ENV: ReadonlySet<string> = new Set([
  'JOCKO_LOG_LEVEL',
  'JOCKO_LOG_FORMAT',
  'JOCKO_EVENT_LOOP_STATS',
  'JOCKO_TEST_UNSAFE_ACK',
]);

/** log.retention.ms → JOCKO_LOG_RETENTION_MS */
export function envVarName(configName: string): string {
  return ENV_PREFIX + configName.toUpperCase().replace(/[.-]/g, '_');
}

const ENV_TO_CONFIG: ReadonlyMap<string, string> = new Map(BROKER_CONFIGS.map((d) => [envVarName(d.name), d.name]));

/** Split `--set key=value` arguments. */
export function parseSetFlags(items: readonly string[]): {
  readonly values: Record<string, string>;
  readonly errors: readonly string[];
} {
  const values = new Map<string, string>();
  const errors: string[] = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq).trim();
    if (key === '') errors.push(`--set expects KEY=VALUE, got ${item}`);
    else values.set(key, item.slice(eq + 1));
  }
  // fromEntries defines own properties, so a key like "__proto__" stays a plain key.
  return { values: Object.fromEntries(values), errors };
}

interface Setting {
  readonly value: Exclude<ConfigValue, null>;
  readonly origin: SettingOrigin;
  readonly where: string;
}

type Layer = ReadonlyMap<string, Setting>;

/** Multi-key groups from the topic catalogue: a broker key described with its siblings. */
const SYNONYM_GROUP: ReadonlyMap<string, readonly string[]> = (() => {
  const m = new Map<string, readonly string[]>();
  for (const t of TOPIC_CONFIGS) {
    if (t.brokerSynonyms.length < 2) continue;
    const names = t.brokerSynonyms.map((s) => s.name);
    for (const n of names) m.set(n, names);
  }
  return m;
})();

const LOG_DIRS_SYNONYMS: readonly BrokerSynonym[] = [
  { name: 'log.dirs', unit: 'same' },
  { name: 'log.dir', unit: 'same' },
];

function synonymsOfTopic(topicName: string): readonly BrokerSynonym[] {
  const def = topicConfigDef(topicName);
  if (def === undefined) throw new Error(`no topic config ${topicName}`);
  return def.brokerSynonyms;
}

const MS_PER_UNIT = { same: 1, 'minutes-to-ms': 60_000, 'hours-to-ms': 3_600_000 } as const;

function convert(value: ConfigValue, unit: BrokerSynonym['unit']): ConfigValue {
  if (unit === 'same' || typeof value !== 'number') return value;
  // Kafka: a negative retention in minutes or hours means "unlimited", reported as -1.
  return value < 0 ? -1 : value * MS_PER_UNIT[unit];
}

/** A candidate value for a key, in precedence order (what DescribeConfigs calls a synonym). */
interface Candidate {
  readonly name: string;
  readonly value: Exclude<ConfigValue, null>;
  readonly source: ConfigSourceId;
  readonly origin: SettingOrigin;
}

export interface ResolvedSynonym {
  /** Converted to the topic config's unit (e.g. hours → ms). */
  readonly value: ConfigValue;
  readonly name: string;
  readonly source: ConfigSourceId;
  readonly origin: SettingOrigin;
}

export type DynamicTarget = 'cluster-default' | 'broker';

export class BrokerConfig {
  readonly #static: Layer;
  readonly #dynamicDefault: Layer;
  readonly #dynamicBroker: Layer;

  private constructor(staticLayer: Layer, dynamicDefault: Layer, dynamicBroker: Layer) {
    this.#static = staticLayer;
    this.#dynamicDefault = dynamicDefault;
    this.#dynamicBroker = dynamicBroker;
    Object.freeze(this);
  }

  /** Every key at its catalogue default. */
  static defaults(): BrokerConfig {
    return new BrokerConfig(new Map(), new Map(), new Map());
  }

  /** Resolve file, environment, flags and dynamic values into one configuration. */
  static resolve(input: BrokerConfigInput = {}): BrokerConfigResult {
    const errors: ConfigIssue[] = [];
    const warnings: ConfigIssue[] = [];
    const staticLayer = new Map<string, Setting>();

    const put = (name: string, raw: string, origin: SettingOrigin, where: string) => {
      const def = brokerConfigDef(name);
      if (def === undefined) {
        warnings.push({ name, origin, where, message: unknownBrokerConfigMessage(name) });
        return;
      }
      const unsupported = unsupportedSettingMessage(name, raw);
      if (unsupported !== null) {
        errors.push({ name, origin, where, message: unsupported });
        return;
      }
      if (def.notInEffect) {
        // Start-up settings take effect or are refused; this one Jocko only stores when set dynamically.
        warnings.push({ name, origin, where, message: `${name} is not in effect in Jocko and was ignored.` });
        return;
      }
      if (def.deprecated) {
        warnings.push({ name, origin, where, message: `${name} is deprecated and has no effect.` });
      }
      const parsed = parseValue(def, raw);
      if (!parsed.ok) errors.push({ name, origin, where, message: parsed.error });
      else if (parsed.value !== null) staticLayer.set(name, { value: parsed.value, origin, where });
    };

    if (input.propertiesText !== undefined) {
      const path = input.propertiesPath ?? 'properties';
      const parsed = parseProperties(input.propertiesText);
      for (const e of parsed.errors) {
        errors.push({ name: '', origin: 'file', where: `${path}:${e.line}`, message: e.message });
      }
      const last = new Map<string, { value: string; line: number }>();
      for (const e of parsed.entries) last.set(e.key, { value: e.value, line: e.line });
      for (const [key, { value, line }] of last) put(key, value, 'file', `${path}:${line}`);
    }

    if (input.env !== undefined) {
      for (const envName of Object.keys(input.env).sort()) {
        const raw = input.env[envName];
        if (
          !envName.startsWith(ENV_PREFIX) ||
          raw === undefined ||
          raw === '' ||
          NON_CONFIG_ENV.has(envName) ||
          envName.startsWith('JOCKO_TEST_')
        )
          continue;
        const name = ENV_TO_CONFIG.get(envName);
        if (name === undefined) {
          warnings.push({
            name: envName,
            origin: 'env',
            where: envName,
            message: 'The environment variable does not name a known broker config and was ignored.',
          });
        } else {
          put(name, raw, 'env', envName);
        }
      }
    }

    if (input.overrides !== undefined) {
      const where = input.overrideWhere ?? ((name: string) => `--set ${name}`);
      for (const [name, raw] of Object.entries(input.overrides)) put(name, raw, 'flag', where(name));
    }

    // node.id and broker.id are one setting under two names (Kafka's populateSynonyms).
    const nodeId = staticLayer.get('node.id');
    const brokerId = staticLayer.get('broker.id');
    if (nodeId !== undefined && brokerId === undefined) staticLayer.set('broker.id', nodeId);
    if (brokerId !== undefined && nodeId === undefined) staticLayer.set('node.id', brokerId);
    if (nodeId !== undefined && brokerId !== undefined && nodeId.value !== brokerId.value) {
      errors.push({
        name: 'node.id',
        origin: nodeId.origin,
        where: nodeId.where,
        message: 'You must set `node.id` to the same value as `broker.id`.',
      });
    }

    const base = new BrokerConfig(staticLayer, new Map(), new Map());
    errors.push(...base.#invariantIssues());
    if (errors.length > 0) return { ok: false, errors, warnings };
    const { config, warnings: dynamicWarnings } = base.withDynamicConfigs({
      clusterDefault: input.dynamicDefaults ?? {},
      broker: input.dynamicBroker ?? {},
    });
    return { ok: true, config, warnings: [...warnings, ...dynamicWarnings] };
  }

  /**
   * The same static configuration with the dynamic layers replaced (the metadata image holds
   * the complete set). Entries that could never have been accepted are skipped with a warning.
   */
  withDynamicConfigs(dynamic: {
    readonly clusterDefault: Readonly<Record<string, string>>;
    readonly broker: Readonly<Record<string, string>>;
  }): { readonly config: BrokerConfig; readonly warnings: readonly ConfigIssue[] } {
    const warnings: ConfigIssue[] = [];
    const layerOf = (values: Readonly<Record<string, string>>, target: DynamicTarget): Layer => {
      const origin: SettingOrigin = target === 'broker' ? 'dynamic-broker' : 'dynamic-default';
      const layer = new Map<string, Setting>();
      for (const [name, raw] of Object.entries(values)) {
        const where = target === 'broker' ? 'dynamic broker config' : 'dynamic default broker config';
        const problem = dynamicUpdateProblem(name, raw, target);
        if (problem !== null) {
          warnings.push({ name, origin, where, message: problem.message });
          continue;
        }
        const def = brokerConfigDef(name);
        const parsed = def === undefined ? undefined : parseValue(def, raw);
        if (parsed?.ok && parsed.value !== null) layer.set(name, { value: parsed.value, origin, where });
      }
      return layer;
    };
    const config = new BrokerConfig(
      this.#static,
      layerOf(dynamic.clusterDefault, 'cluster-default'),
      layerOf(dynamic.broker, 'broker'),
    );
    for (const issue of config.#invariantIssues()) warnings.push(issue);
    return { config, warnings };
  }

  /** The dynamic overrides currently applied, as strings. */
  dynamicConfigs(target: DynamicTarget): Record<string, string> {
    const layer = target === 'broker' ? this.#dynamicBroker : this.#dynamicDefault;
    const out: Record<string, string> = {};
    for (const [name, s] of layer) out[name] = formatValue(defOf(name), s.value) ?? '';
    return out;
  }

  // ---- generic access

  /** The effective value of a broker key (null when unset). Unknown names are a bug. */
  get(name: string): ConfigValue {
    return this.#setting(name)?.value ?? defOf(name).default;
  }

  /** Where the effective value of a key came from. */
  origin(name: string): SettingOrigin {
    return this.#setting(name)?.origin ?? 'default';
  }

  /** Kafka's ConfigSource of the effective value. */
  source(name: string): ConfigSourceId {
    return sourceOf(this.origin(name));
  }

  getNumber(name: string): number {
    const v = this.get(name);
    if (typeof v !== 'number') throw new Error(`config ${name} is not a number: ${String(v)}`);
    return v;
  }

  getNumberOrNull(name: string): number | null {
    const v = this.get(name);
    if (v !== null && typeof v !== 'number') throw new Error(`config ${name} is not a number`);
    return v;
  }

  getBoolean(name: string): boolean {
    const v = this.get(name);
    if (typeof v !== 'boolean') throw new Error(`config ${name} is not a boolean`);
    return v;
  }

  getString(name: string): string | null {
    const v = this.get(name);
    if (v !== null && typeof v !== 'string') throw new Error(`config ${name} is not a string`);
    return v;
  }

  getList(name: string): readonly string[] {
    const v = this.get(name);
    if (!Array.isArray(v)) throw new Error(`config ${name} is not a list`);
    return v;
  }

  /**
   * The value supplied by a list of synonyms (e.g. a topic config's broker defaults),
   * converted to the first synonym's unit; null when none of them has a value.
   */
  resolveSynonyms(synonyms: readonly BrokerSynonym[]): ResolvedSynonym | null {
    const first = this.#candidates(synonyms.map((s) => s.name))[0];
    if (first === undefined) return null;
    const unit = synonyms.find((s) => s.name === first.name)?.unit ?? 'same';
    return { value: convert(first.value, unit), name: first.name, source: first.source, origin: first.origin };
  }

  /** DescribeConfigs synonyms for these broker keys, highest precedence first. */
  synonymEntries(names: readonly string[], sensitive: boolean): ConfigSynonymEntry[] {
    return this.#candidates(names).map((c) => ({
      name: c.name,
      value: sensitive ? null : formatValue(defOf(c.name), c.value),
      source: c.source,
    }));
  }

  /**
   * DescribeConfigs for a broker resource. `target: 'broker'` describes this broker (every
   * key); `'cluster-default'` describes resource "" (only the dynamic cluster defaults).
   */
  describe(options: { readonly names?: readonly string[]; readonly target?: DynamicTarget } = {}): DescribedConfig[] {
    const target = options.target ?? 'broker';
    const wanted = options.names !== undefined && options.names.length > 0 ? new Set(options.names) : null;
    const out: DescribedConfig[] = [];
    for (const def of BROKER_CONFIGS) {
      if (wanted !== null && !wanted.has(def.name)) continue;
      const names = SYNONYM_GROUP.get(def.name) ?? [def.name];
      let synonyms = this.synonymEntries(names, def.sensitive);
      // Kafka lists a key's own entries and the ones below it, not a sibling set above it.
      const own = synonyms.findIndex((s) => s.name === def.name);
      synonyms = own < 0 ? [] : synonyms.slice(own);
      let value: string | null;
      if (target === 'cluster-default') {
        const s = this.#dynamicDefault.get(def.name);
        if (s === undefined) continue;
        synonyms = synonyms.filter((x) => x.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
        value = def.sensitive ? null : formatValue(def, s.value);
      } else {
        value = def.sensitive ? null : formatValue(def, this.get(def.name));
      }
      out.push({
        name: def.name,
        value,
        source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
        readOnly: def.dynamic === 'read-only',
        sensitive: def.sensitive,
        type: configTypeId(def.type),
        synonyms,
        documentation: def.doc,
      });
    }
    return out;
  }

  /** Every key with its effective value as a string, passwords hidden: for the startup log. */
  loggableValues(): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const def of BROKER_CONFIGS) {
      const v = this.get(def.name);
      out[def.name] = def.sensitive && v !== null ? '[hidden]' : formatValue(def, v);
    }
    return out;
  }

  // ---- typed getters for the common keys

  /** This node's id (node.id, or broker.id); -1 when neither is set. */
  get nodeId(): number {
    return this.getNumber('node.id');
  }
  get listeners(): string {
    return this.getString('listeners') ?? '';
  }
  /** advertised.listeners, falling back to listeners as Kafka does. */
  get advertisedListeners(): string {
    return this.getString('advertised.listeners') ?? this.listeners;
  }
  /** log.dirs, or log.dir when log.dirs is unset. */
  get logDirs(): readonly string[] {
    const v = this.resolveSynonyms(LOG_DIRS_SYNONYMS)?.value;
    return Array.isArray(v) ? v : [];
  }
  get numPartitions(): number {
    return this.getNumber('num.partitions');
  }
  get defaultReplicationFactor(): number {
    return this.getNumber('default.replication.factor');
  }
  get autoCreateTopicsEnable(): boolean {
    return this.getBoolean('auto.create.topics.enable');
  }
  get deleteTopicEnable(): boolean {
    return this.getBoolean('delete.topic.enable');
  }
  get messageMaxBytes(): number {
    return this.getNumber('message.max.bytes');
  }
  get socketRequestMaxBytes(): number {
    return this.getNumber('socket.request.max.bytes');
  }
  get connectionsMaxIdleMs(): number {
    return this.getNumber('connections.max.idle.ms');
  }
  get maxConnections(): number {
    return this.getNumber('max.connections');
  }
  get maxConnectionsPerIp(): number {
    return this.getNumber('max.connections.per.ip');
  }
  /** `max.connections.per.ip.overrides` by address (validated by the catalogue). */
  get maxConnectionsPerIpOverrides(): Map<string, number> {
    return parsePerIpOverrides(this.getString('max.connections.per.ip.overrides') ?? '');
  }
  get queuedMaxRequests(): number {
    return this.getNumber('queued.max.requests');
  }
  get minInsyncReplicas(): number {
    return this.getNumber('min.insync.replicas');
  }
  get compressionType(): string {
    return this.getString('compression.type') ?? 'producer';
  }
  get uncleanLeaderElectionEnable(): boolean {
    return this.getBoolean('unclean.leader.election.enable');
  }
  get logSegmentBytes(): number {
    return this.getNumber('log.segment.bytes');
  }
  /** log.roll.ms, else log.roll.hours in ms. */
  get logRollMs(): number {
    return this.#derivedNumber('segment.ms');
  }
  /** log.retention.ms, else .minutes, else .hours, in ms; -1 for unlimited. */
  get logRetentionMs(): number {
    return this.#derivedNumber('retention.ms');
  }
  get logRetentionBytes(): number {
    return this.getNumber('log.retention.bytes');
  }
  get logRetentionDiskPercent(): number {
    return this.getNumber('log.retention.disk.percent');
  }
  get logRetentionCheckIntervalMs(): number {
    return this.getNumber('log.retention.check.interval.ms');
  }
  get logFlushIntervalMessages(): number {
    return this.getNumber('log.flush.interval.messages');
  }
  /** log.flush.interval.ms, else log.flush.scheduler.interval.ms. */
  get logFlushIntervalMs(): number {
    return this.#derivedNumber('flush.ms');
  }
  get logFlushOnAppend(): boolean {
    return this.getBoolean('log.flush.on.append');
  }
  get logCleanupPolicy(): readonly string[] {
    return this.getList('log.cleanup.policy');
  }
  get logCleanerEnable(): boolean {
    return this.getBoolean('log.cleaner.enable');
  }
  get offsetsTopicNumPartitions(): number {
    return this.getNumber('offsets.topic.num.partitions');
  }
  get offsetsTopicReplicationFactor(): number {
    return this.getNumber('offsets.topic.replication.factor');
  }
  get offsetsRetentionMs(): number {
    return this.getNumber('offsets.retention.minutes') * 60_000;
  }
  get groupInitialRebalanceDelayMs(): number {
    return this.getNumber('group.initial.rebalance.delay.ms');
  }
  get groupMinSessionTimeoutMs(): number {
    return this.getNumber('group.min.session.timeout.ms');
  }
  get groupMaxSessionTimeoutMs(): number {
    return this.getNumber('group.max.session.timeout.ms');
  }
  get groupMaxSize(): number {
    return this.getNumber('group.max.size');
  }
  get transactionalIdExpirationMs(): number {
    return this.getNumber('transactional.id.expiration.ms');
  }
  get transactionMaxTimeoutMs(): number {
    return this.getNumber('transaction.max.timeout.ms');
  }
  get transactionStateLogNumPartitions(): number {
    return this.getNumber('transaction.state.log.num.partitions');
  }
  get transactionStateLogReplicationFactor(): number {
    return this.getNumber('transaction.state.log.replication.factor');
  }
  get producerIdExpirationMs(): number {
    return this.getNumber('producer.id.expiration.ms');
  }
  get producerIdExpirationCheckIntervalMs(): number {
    return this.getNumber('producer.id.expiration.check.interval.ms');
  }
  get fetchMaxBytes(): number {
    return this.getNumber('fetch.max.bytes');
  }
  get replicaFetchMaxBytes(): number {
    return this.getNumber('replica.fetch.max.bytes');
  }
  get replicaLagTimeMaxMs(): number {
    return this.getNumber('replica.lag.time.max.ms');
  }
  get maxIncrementalFetchSessionCacheSlots(): number {
    return this.getNumber('max.incremental.fetch.session.cache.slots');
  }

  // ---- internals

  #setting(name: string): Setting | undefined {
    return this.#dynamicBroker.get(name) ?? this.#dynamicDefault.get(name) ?? this.#static.get(name);
  }

  #candidates(names: readonly string[]): Candidate[] {
    const out: Candidate[] = [];
    const layers: ReadonlyArray<readonly [Layer, ConfigSourceId]> = [
      [this.#dynamicBroker, ConfigSource.DYNAMIC_BROKER_CONFIG],
      [this.#dynamicDefault, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
      [this.#static, ConfigSource.STATIC_BROKER_CONFIG],
    ];
    for (const [layer, source] of layers) {
      for (const name of names) {
        const s = layer.get(name);
        if (s !== undefined) out.push({ name, value: s.value, source, origin: s.origin });
      }
    }
    for (const name of names) {
      const d = brokerConfigDef(name);
      if (d !== undefined && d.default !== null) {
        out.push({ name, value: d.default, source: ConfigSource.DEFAULT_CONFIG, origin: 'default' });
      }
    }
    return out;
  }

  #derivedNumber(topicName: string): number {
    const v = this.resolveSynonyms(synonymsOfTopic(topicName))?.value;
    if (typeof v !== 'number') throw new Error(`no broker value for ${topicName}`);
    return v;
  }

  /** Rules across keys, checked after every resolution (KafkaConfig's `require`s). */
  #invariantIssues(): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const retention = this.resolveSynonyms(synonymsOfTopic('retention.ms'));
    if (retention !== null && typeof retention.value === 'number' && retention.value !== -1 && retention.value < 1) {
      issues.push({
        name: retention.name,
        origin: retention.origin,
        where: this.#where(retention.name),
        message: 'log.retention.ms must be unlimited (-1) or, greater than or equal to 1',
      });
    }
    const queuedMaxBytes = this.getNumber('queued.max.request.bytes');
    if (queuedMaxBytes > 0 && queuedMaxBytes < this.socketRequestMaxBytes) {
      issues.push({
        name: 'queued.max.request.bytes',
        origin: this.origin('queued.max.request.bytes'),
        where: this.#where('queued.max.request.bytes'),
        message: `queued.max.request.bytes (${queuedMaxBytes}) must be -1 or at least socket.request.max.bytes (${this.socketRequestMaxBytes})`,
      });
    }
    if (this.logDirs.length === 0) {
      issues.push({
        name: 'log.dirs',
        origin: this.origin('log.dirs'),
        where: this.#where('log.dirs'),
        message: 'At least one log directory must be defined via log.dirs or log.dir.',
      });
    }
    return issues;
  }

  #where(name: string): string {
    return this.#setting(name)?.where ?? 'default';
  }
}

function defOf(name: string): BrokerConfigDef {
  const def = brokerConfigDef(name);
  if (def === undefined) throw new Error(`unknown broker config ${name}`);
  return def;
}

function sourceOf(origin: SettingOrigin): ConfigSourceId {
  switch (origin) {
    case 'default':
      return ConfigSource.DEFAULT_CONFIG;
    case 'file':
    case 'env':
    case 'flag':
      return ConfigSource.STATIC_BROKER_CONFIG;
    case 'dynamic-default':
      return ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG;
    case 'dynamic-broker':
      return ConfigSource.DYNAMIC_BROKER_CONFIG;
  }
}

/** Kafka logs unknown keys as unused; the hint helps when a topic config name was given. */
export function unknownBrokerConfigMessage(name: string): string {
  const topic = topicConfigDef(name);
  const hint =
    topic !== undefined && topic.brokerSynonyms[0] !== undefined && topic.brokerSynonyms[0].name !== name
      ? ` ${name} is a topic config; its broker default is ${topic.brokerSynonyms[0].name}.`
      : '';
  return `The configuration '${name}' was supplied but isn't a known config.${hint}`;
}

/** Why a single dynamic update is refused, or null (no cross-key checks). */
function dynamicUpdateProblem(name: string, raw: string | null, target: DynamicTarget): ConfigProblem | null {
  const def = brokerConfigDef(name);
  if (def === undefined) {
    return { name, errorCode: ErrorCode.INVALID_CONFIG, message: `Unknown broker config name: ${name}` };
  }
  if (def.dynamic === 'read-only') {
    return {
      name,
      errorCode: ErrorCode.INVALID_REQUEST,
      message: `Cannot update these configs dynamically: Set(${name})`,
    };
  }
  if (def.dynamic === 'per-broker' && target === 'cluster-default') {
    return {
      name,
      errorCode: ErrorCode.INVALID_REQUEST,
      message: `Cannot update these configs at default cluster level, broker id must be specified: Set(${name})`,
    };
  }
  if (raw === null) return null;
  // What start-up refuses (TLS, SASL, ...) is refused here too rather than stored and ignored.
  const unsupported = unsupportedSettingMessage(name, raw);
  if (unsupported !== null) return { name, errorCode: ErrorCode.INVALID_REQUEST, message: unsupported };
  const parsed = parseValue(def, raw);
  // Broker config validation failures are INVALID_REQUEST in Kafka (KAFKA-13609).
  return parsed.ok ? null : { name, errorCode: ErrorCode.INVALID_REQUEST, message: parsed.error };
}

/** Kafka's DynamicThreadPool check: at least 1, at least half and at most double the value in force. */
function threadPoolProblem(name: string, value: number, current: number): ConfigProblem | null {
  if (value === current) return null;
  const failed = `Dynamic thread count update validation failed for ${name}=${value}`;
  const message =
    value <= 0
      ? `${failed}, value should be at least 1`
      : value < current / 2
        ? `${failed}, value should be at least half the current value ${current}`
        : value > current * 2
          ? `${failed}, value should not be greater than double the current value ${current}`
          : null;
  return message === null ? null : { name, errorCode: ErrorCode.INVALID_REQUEST, message };
}

/**
 * Check an AlterConfigs / IncrementalAlterConfigs change of broker configs before it is
 * written. `changes` maps names to new values (null = delete the override). Returns the
 * problems, empty when the change may be applied.
 */
export function validateBrokerConfigUpdate(
  current: BrokerConfig,
  changes: Readonly<Record<string, string | null>>,
  target: DynamicTarget,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, raw] of Object.entries(changes)) {
    const p = dynamicUpdateProblem(name, raw, target);
    if (p !== null) problems.push(p);
  }
  for (const [name, raw] of Object.entries(changes)) {
    if (raw === null || (name !== 'listeners' && name !== 'advertised.listeners')) continue;
    const other = unsupportedListenerNames(raw, current.getList('controller.listener.names'));
    if (other.length > 0) {
      problems.push({ name, errorCode: ErrorCode.INVALID_REQUEST, message: unsupportedListenersMessage(name, other) });
    }
  }
  for (const [name, raw] of Object.entries(changes)) {
    if (raw === null || !THREAD_POOL_CONFIGS.has(name)) continue;
    const p = threadPoolProblem(name, Number(raw.trim()), current.getNumber(name));
    if (p !== null) problems.push(p);
  }
  if (problems.length > 0) return problems;
  const next = { ...current.dynamicConfigs(target) };
  for (const [name, raw] of Object.entries(changes)) {
    if (raw === null) delete next[name];
    else next[name] = raw;
  }
  const { warnings } = current.withDynamicConfigs({
    clusterDefault: target === 'cluster-default' ? next : current.dynamicConfigs('cluster-default'),
    broker: target === 'broker' ? next : current.dynamicConfigs('broker'),
  });
  for (const w of warnings) problems.push({ name: w.name, errorCode: ErrorCode.INVALID_REQUEST, message: w.message });
  return problems;
}
