import { random } from '../runtime/random.js';

const ZERO = '00000000-0000-0000-0000-000000000000';
/** Kafka reserves this id for the metadata topic (Uuid.METADATA_TOPIC_ID, base64 AAAAAAAAAAAAAAAAAAAAAQ). */
const METADATA_TOPIC_ID = '00000000-0000-0000-0000-000000000001';

/** A random topic id that is neither the zero uuid nor a reserved one. */
export function randomTopicId(): string {
  for (;;) {
    const id = random().uuid();
    if (id !== ZERO && id !== METADATA_TOPIC_ID) return id;
  }
}
