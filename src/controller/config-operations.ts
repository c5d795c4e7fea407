import { validateBrokerConfigUpdate } from '../config/broker-config.js';
import { brokerConfigDef } from '../config/broker-configs.js';
import { applyIncrementalAlterOps, type IncrementalAlterOp, validateTopicConfigs } from '../config/config-values.js';
import { topicDefaultsFrom } from '../config/topic-config.js';
import { topicConfigDef } from '../config/topic-configs.js';
import { configKey, liveBrokerIds, type MetadataImage } from '../metadata/image.js';
import type { MetadataRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/error-codes.js';
import {
  type ControllerContext,
  type ControllerResult,
  ResourceType,
  type SimpleResult,
} from './controller-operation.js';

function overridesOf(image: MetadataImage, resourceType: number, resourceName: string): Record<string, string> {
  return Object.fromEntries(image.configs.get(configKey(resourceType, resourceName)) ?? []);
}

/**
 * Changes configs of one resource: one ConfigRecord per changed key (value null removes it).
 * `ops` are incremental operations; for the legacy AlterConfigs API (which replaces the whole
 * set) pass `replace: true`.
 */
export function alterConfigs(
  image: MetadataImage,
  ctx: ControllerContext,
  resourceType: number,
  resourceName: string,
  ops: readonly IncrementalAlterOp[],
  opts: { replace: boolean; validateOnly: boolean },
): ControllerResult<SimpleResult> {
  const answer = (errorCode: number, errorMessage: string | null): ControllerResult<SimpleResult> => ({
    records: [],
    response: { errorCode, errorMessage },
  });
  if (resourceType === ResourceType.TOPIC) {
    if (!image.topicsByName.has(resourceName)) {
      return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resourceName} does not exist`);
    }
  } else if (resourceType === ResourceType.BROKER) {
    if (resourceName !== '' && !liveBrokerIds(image).includes(Number(resourceName))) {
      return answer(ErrorCode.INVALID_REQUEST, `Unknown broker ${resourceName}`);
    }
  } else {
    return answer(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resourceType}`);
  }
  const current = overridesOf(image, resourceType, resourceName);
  let next: Record<string, string>;
  if (opts.replace) {
    next = {};
    for (const o of ops) if (o.value !== null) next[o.name] = o.value;
  } else {
    const lookup = resourceType === ResourceType.TOPIC ? topicConfigDef : brokerConfigDef;
    const applied = applyIncrementalAlterOps(current, ops, lookup);
    if (!applied.ok) return answer(applied.problem.errorCode, applied.problem.message);
    next = { ...applied.configs };
  }
  const changes: Record<string, string | null> = {};
  for (const k of Object.keys(current)) if (!(k in next)) changes[k] = null;
  for (const [k, v] of Object.entries(next)) if (current[k] !== v) changes[k] = v;
  const problems =
    resourceType === ResourceType.TOPIC
      ? validateTopicConfigs(next, { defaults: topicDefaultsFrom(ctx.config) })
      : validateBrokerConfigUpdate(ctx.config, changes, resourceName === '' ? 'cluster-default' : 'broker');
  if (problems.length > 0) {
    const p = problems[0] as { errorCode: number; message: string };
    return answer(p.errorCode, p.message);
  }
  if (opts.validateOnly) return answer(0, null);
  const records: MetadataRecord[] = Object.entries(changes).map(([name, value]) => ({
    type: 'ConfigRecord',
    data: { resourceType, resourceName, name, value },
  }));
  return { records, response: { errorCode: 0, errorMessage: null } };
}
