/**
 * The configuration catalogue rendered as Markdown tables: the same text serves the docs and
 * `jocko broker --help-config`, so neither can drift from what the broker accepts.
 */

import { envVarName } from './broker-config.js';
import { BROKER_CONFIGS } from './broker-configs.js';
import {
  type BrokerConfigDef,
  type ConfigDef,
  LONG_MAX,
  serverDefaultProperty,
  type TopicConfigDef,
  type Validator,
} from './config-def.js';
import { formatValue } from './config-values.js';
import { TOPIC_CONFIGS } from './topic-configs.js';

/** "Valid values" as Kafka's docs print it: [1,...], [0,...,1], [a, b]. */
export function describeValidator(v: Validator | null): string {
  if (v === null) return '';
  switch (v.kind) {
    case 'range':
      if (v.min !== undefined && v.max !== undefined) return `[${v.min},...,${v.max}]`;
      if (v.min !== undefined) return `[${v.min},...]`;
      if (v.max !== undefined) return `[...,${v.max}]`;
      return '[...]';
    case 'one-of':
    case 'list-of':
      return `[${v.values.join(', ')}]`;
    case 'custom':
      return v.describe;
  }
}

const MS_UNITS: ReadonlyArray<readonly [number, string]> = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1000, 'second'],
];
const BYTE_UNITS: ReadonlyArray<readonly [number, string]> = [
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

function hint(name: string, value: number): string {
  if (!Number.isSafeInteger(value) || value <= 0 || value >= LONG_MAX) return '';
  if (name.endsWith('.ms')) {
    for (const [size, unit] of MS_UNITS) {
      if (value >= size && value % size === 0) {
        const n = value / size;
        return ` (${n} ${unit}${n === 1 ? '' : 's'})`;
      }
    }
  }
  if (name.endsWith('.bytes') || name.endsWith('.size')) {
    for (const [size, unit] of BYTE_UNITS) {
      if (value >= size && value % size === 0) return ` (${value / size} ${unit})`;
    }
  }
  return '';
}

/** The default as the table shows it: null, empty string, or the value with a readable hint. */
export function renderDefault(def: ConfigDef): string {
  if (def.default === null) return 'null';
  const text = formatValue(def, def.default) ?? 'null';
  if (text === '') return '""';
  return typeof def.default === 'number' ? text + hint(def.name, def.default) : text;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function nameCell(def: ConfigDef): string {
  const note = def.deprecated ? ' (deprecated)' : def.scope === 'broker' && def.notInEffect ? ' (not in effect)' : '';
  return `\`${def.name}\`${note}`;
}

export function renderBrokerConfigTable(defs: readonly BrokerConfigDef[] = BROKER_CONFIGS): string {
  const lines = [
    row(['Name', 'Description', 'Type', 'Default', 'Valid values', 'Importance', 'Update mode']),
    row(['---', '---', '---', '---', '---', '---', '---']),
  ];
  for (const d of defs) {
    lines.push(
      row([nameCell(d), d.doc, d.type, renderDefault(d), describeValidator(d.validator), d.importance, d.dynamic]),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function renderTopicConfigTable(defs: readonly TopicConfigDef[] = TOPIC_CONFIGS): string {
  const lines = [
    row(['Name', 'Description', 'Type', 'Default', 'Valid values', 'Server default property', 'Importance']),
    row(['---', '---', '---', '---', '---', '---', '---']),
  ];
  for (const d of defs) {
    const server = serverDefaultProperty(d);
    lines.push(
      row([
        nameCell(d),
        d.doc,
        d.type,
        renderDefault(d),
        describeValidator(d.validator),
        server === null ? '' : `\`${server}\``,
        d.importance,
      ]),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The whole reference: how values are resolved, then both tables. */
export function renderConfigReference(): string {
  return [
    '# Configuration',
    '',
    "Broker properties use Kafka's names. A value is taken from, lowest precedence first:",
    'the default below, the properties file, environment variables',
    `(\`${envVarName('log.retention.ms')}\` sets \`log.retention.ms\`), \`--set key=value\` flags,`,
    'and dynamic changes made with AlterConfigs (a cluster-wide default, then a per-broker value).',
    'Update mode says whether a property can change without a restart.',
    '',
    '## Broker configs',
    '',
    renderBrokerConfigTable(),
    '## Topic configs',
    '',
    'Set per topic at creation or with AlterConfigs; unset ones follow the broker property in',
    '"Server default property".',
    '',
    renderTopicConfigTable(),
  ].join('\n');
}
