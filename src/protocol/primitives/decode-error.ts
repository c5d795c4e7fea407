/**
 * A request or record that cannot be decoded. Thrown by readers; the network layer turns it
 * into closing that one connection. Never used for Kafka error codes (those are data).
 */
export class DecodeError extends Error {
  readonly code = 'JOCKO_DECODE_ERROR';
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = 'DecodeError';
  }
}

export function isDecodeError(err: unknown): err is DecodeError {
  return err instanceof DecodeError;
}
