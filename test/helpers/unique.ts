import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A name no other test in any process will use: prefix, pid, a per-process counter and random
 * hex. Only `[a-z0-9-]` so it is a valid Kafka topic or group name (Kafka treats `.` and `_`
 * as colliding, so neither is used), and short enough for every client.
 */
export function uniqueName(prefix = 'name'): string {
  counter += 1;
  const safe = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 60);
  return `${safe}-${process.pid}-${counter}-${randomBytes(3).toString('hex')}`;
}

export function uniqueTopic(prefix = 'topic'): string {
  return uniqueName(prefix);
}

export function uniqueGroup(prefix = 'group'): string {
  return uniqueName(prefix);
}
