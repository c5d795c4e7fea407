import type { DescribedConfig } from '../client/kafka-client.js';
import { ConfigSource } from '../config/config-def.js';

const SOURCE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(ConfigSource).map(([name, id]) => [id, name]));

/** Kafka's name for a ConfigSource id (DEFAULT_CONFIG, DYNAMIC_TOPIC_CONFIG...). */
export function configSourceName(id: number): string {
  return SOURCE_NAMES.get(id) ?? 'UNKNOWN';
}

/** Sources that are dynamic overrides (what kafka-configs.sh --describe shows without --all). */
export const DYNAMIC_SOURCES: ReadonlySet<number> = new Set([
  ConfigSource.DYNAMIC_TOPIC_CONFIG,
  ConfigSource.DYNAMIC_BROKER_CONFIG,
  ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
]);

/**
 * Config lines as kafka-configs.sh --describe prints them, one per key in name order:
 * `name=value sensitive=false source=SOURCE synonyms={SOURCE:name=value, ...}`, sensitive values
 * shown as null, the synonyms (where the value would come from otherwise) when the broker sent them.
 */
export function formatConfigs(heading: string, configs: readonly DescribedConfig[]): string {
  const lines = [...configs]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => {
      const synonyms = (c.synonyms ?? []).map((s) => `${configSourceName(s.source)}:${s.name}=${shown(s.value, c)}`);
      return `  ${c.name}=${shown(c.value, c)} sensitive=${c.isSensitive} source=${configSourceName(c.configSource)}${
        synonyms.length > 0 ? ` synonyms={${synonyms.join(', ')}}` : ''
      }\n`;
    });
  return `${heading}\n${lines.join('')}`;
}

function shown(value: string | null, c: DescribedConfig): string {
  return c.isSensitive ? 'null' : (value ?? 'null');
}
