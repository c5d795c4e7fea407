/**
 * The shape of one configuration key in the catalogue (Kafka's ConfigDef idea): name, type,
 * typed default, validator, importance, one-line doc, scope, how it may be updated at run
 * time, and — for topic configs — the broker properties that supply the default.
 *
 * Everything that talks about configuration (DescribeConfigs, AlterConfigs, CreateTopics
 * validation, the CLI help, the docs) reads these definitions; nothing restates them.
 */

/** Kafka's ConfigDef.Type names, lower-case. */
export type ConfigTypeName = 'boolean' | 'string' | 'int' | 'short' | 'long' | 'double' | 'list' | 'class' | 'password';

/** DescribeConfigs `ConfigType` ids (KIP-569). */
export const ConfigType = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;
export type ConfigTypeId = (typeof ConfigType)[keyof typeof ConfigType];

const TYPE_IDS: Readonly<Record<ConfigTypeName, ConfigTypeId>> = {
  boolean: ConfigType.BOOLEAN,
  string: ConfigType.STRING,
  int: ConfigType.INT,
  short: ConfigType.SHORT,
  long: ConfigType.LONG,
  double: ConfigType.DOUBLE,
  list: ConfigType.LIST,
  class: ConfigType.CLASS,
  password: ConfigType.PASSWORD,
};

export function configTypeId(type: ConfigTypeName): ConfigTypeId {
  return TYPE_IDS[type];
}

/** DescribeConfigs `ConfigSource` ids as they travel on the wire (Kafka DescribeConfigsResponse.ConfigSource). */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  DYNAMIC_CLIENT_METRICS_CONFIG: 7,
  DYNAMIC_GROUP_CONFIG: 8,
} as const;
export type ConfigSourceId = (typeof ConfigSource)[keyof typeof ConfigSource];

/** IncrementalAlterConfigs operation ids. */
export const AlterConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
export type AlterConfigOpId = (typeof AlterConfigOp)[keyof typeof AlterConfigOp];

export type Importance = 'high' | 'medium' | 'low';

/**
 * Kafka's "dynamic update mode": `read-only` needs a restart; `per-broker` may be altered for
 * one broker; `cluster-wide` may be altered as a cluster default (and per broker too).
 */
export type DynamicMode = 'read-only' | 'per-broker' | 'cluster-wide';

export type ConfigScope = 'broker' | 'topic';

/** A parsed configuration value. Longs are JS numbers: exact up to 2^53, Long.MAX_VALUE kept as 2^63. */
export type ConfigValue = boolean | number | string | readonly string[] | null;

/** The validators Kafka uses, as data so the docs can print them. */
export type Validator =
  | { readonly kind: 'range'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'one-of'; readonly values: readonly string[] }
  | { readonly kind: 'list-of'; readonly values: readonly string[] }
  | {
      readonly kind: 'custom';
      /** What the docs print in "Valid values". */
      readonly describe: string;
      /** Returns the reason a parsed value is invalid, or null when it is fine. */
      readonly check: (value: ConfigValue) => string | null;
    };

export function atLeast(min: number): Validator {
  return { kind: 'range', min };
}

export function between(min: number, max: number): Validator {
  return { kind: 'range', min, max };
}

export function oneOf(...values: string[]): Validator {
  return { kind: 'one-of', values };
}

export function listOf(...values: string[]): Validator {
  return { kind: 'list-of', values };
}

export function custom(describe: string, check: (value: ConfigValue) => string | null): Validator {
  return { kind: 'custom', describe, check };
}

/** How a broker property becomes a topic value: same unit, or hours/minutes to milliseconds. */
export type SynonymUnit = 'same' | 'minutes-to-ms' | 'hours-to-ms';

/** A broker property that supplies a topic config's default, in order of precedence. */
export interface BrokerSynonym {
  readonly name: string;
  readonly unit: SynonymUnit;
}

type TypedDefault =
  | { readonly type: 'boolean'; readonly default: boolean | null }
  | { readonly type: 'string' | 'class' | 'password'; readonly default: string | null }
  | { readonly type: 'int' | 'short' | 'long' | 'double'; readonly default: number | null }
  | { readonly type: 'list'; readonly default: readonly string[] | null };

interface CommonFields {
  readonly name: string;
  readonly validator: Validator | null;
  readonly importance: Importance;
  /** One line, shown by DescribeConfigs (includeDocumentation), the CLI help and the docs. */
  readonly doc: string;
  /** True for passwords: DescribeConfigs reports the value as null. */
  readonly sensitive: boolean;
  /** Accepted for compatibility with older Kafka tooling; has no effect. */
  readonly deprecated: boolean;
}

export type BrokerConfigDef = TypedDefault &
  CommonFields & {
    readonly scope: 'broker';
    readonly dynamic: DynamicMode;
    /**
     * Kafka takes it as a dynamic broker config and Jocko does not act on it: AlterConfigs stores
     * it (with Kafka's validation) and DescribeConfigs shows it; at start-up it is ignored with a warning.
     */
    readonly notInEffect: boolean;
    /**
     * Why Jocko cannot honour it yet (TLS, SASL, ...): set at start-up it stops start-up naming
     * it, rather than a broker that looks protected serving anyone in plaintext.
     */
    readonly notSupported: string | null;
  };

export type TopicConfigDef = TypedDefault &
  CommonFields & {
    readonly scope: 'topic';
    /** Broker properties that supply the default, highest precedence first; empty when none. */
    readonly brokerSynonyms: readonly BrokerSynonym[];
  };

export type ConfigDef = BrokerConfigDef | TopicConfigDef;

/** The default's TypeScript type for a given config type name. */
export type DefaultFor<T extends ConfigTypeName> = T extends 'boolean'
  ? boolean
  : T extends 'int' | 'short' | 'long' | 'double'
    ? number
    : T extends 'list'
      ? readonly string[]
      : string;

interface DefineOptions {
  readonly validator?: Validator;
  readonly importance: Importance;
  readonly doc: string;
  readonly deprecated?: boolean;
}

export interface BrokerDefineOptions extends DefineOptions {
  readonly dynamic: DynamicMode;
  readonly notInEffect?: boolean;
  readonly notSupported?: string;
}

export interface TopicDefineOptions extends DefineOptions {
  /** Broker property names (or {name, unit}) that supply the default, highest precedence first. */
  readonly brokerSynonyms?: ReadonlyArray<string | BrokerSynonym>;
}

export function defineBroker<T extends ConfigTypeName>(
  name: string,
  type: T,
  defaultValue: DefaultFor<T> | null,
  options: BrokerDefineOptions,
): BrokerConfigDef {
  return Object.freeze({
    name,
    type,
    default: freezeDefault(defaultValue),
    validator: options.validator ?? null,
    importance: options.importance,
    doc: options.doc,
    sensitive: type === 'password',
    deprecated: options.deprecated ?? false,
    scope: 'broker',
    dynamic: options.dynamic,
    notInEffect: options.notInEffect ?? false,
    notSupported: options.notSupported ?? null,
  }) as BrokerConfigDef;
}

export function defineTopic<T extends ConfigTypeName>(
  name: string,
  type: T,
  defaultValue: DefaultFor<T> | null,
  options: TopicDefineOptions,
): TopicConfigDef {
  const synonyms = (options.brokerSynonyms ?? []).map((s) =>
    Object.freeze(typeof s === 'string' ? { name: s, unit: 'same' as const } : { ...s }),
  );
  return Object.freeze({
    name,
    type,
    default: freezeDefault(defaultValue),
    validator: options.validator ?? null,
    importance: options.importance,
    doc: options.doc,
    sensitive: type === 'password',
    deprecated: options.deprecated ?? false,
    scope: 'topic',
    brokerSynonyms: Object.freeze(synonyms),
  }) as TopicConfigDef;
}

function freezeDefault<V>(v: V): V {
  return Array.isArray(v) ? (Object.freeze([...v]) as V) : v;
}

/** The broker property whose value is the topic config's default (Kafka's "Server Default Property"). */
export function serverDefaultProperty(def: TopicConfigDef): string | null {
  return def.brokerSynonyms[0]?.name ?? null;
}

/** Kafka's Long.MAX_VALUE (2^63 - 1) as its nearest double, 2^63; formatting prints it back exactly. */
export const LONG_MAX = Number(9223372036854775807n);
export const INT_MAX = 2147483647;

/** Build a name → definition index and fail loudly on duplicates (a catalogue bug). */
export function indexByName<D extends ConfigDef>(defs: readonly D[]): ReadonlyMap<string, D> {
  const map = new Map<string, D>();
  for (const d of defs) {
    if (map.has(d.name)) throw new Error(`config ${d.name} is defined twice`);
    map.set(d.name, d);
  }
  return map;
}

/** One synonym of a described config: where a candidate value comes from (DescribeConfigs). */
export interface ConfigSynonymEntry {
  readonly name: string;
  /** Null for sensitive configs. */
  readonly value: string | null;
  readonly source: ConfigSourceId;
}

/** Exactly what a DescribeConfigs result entry needs; the handler drops what was not asked for. */
export interface DescribedConfig {
  readonly name: string;
  /** Null when unset, and always for sensitive configs. */
  readonly value: string | null;
  readonly source: ConfigSourceId;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
  readonly type: ConfigTypeId;
  /** In order of precedence; the first one supplies the value. */
  readonly synonyms: readonly ConfigSynonymEntry[];
  readonly documentation: string;
}
