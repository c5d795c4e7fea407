/**
 * Errors that end one connection (and only that one). A small closed catalogue: anything
 * else thrown while serving a request is a bug and is logged with its stack.
 */
export class ConnectionFatalError extends Error {
  readonly code: string = 'JOCKO_CONNECTION_FATAL';
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionFatalError';
  }
}

/** A size prefix above `socket.request.max.bytes` (or negative): the frame is never allocated. */
export class FrameTooLargeError extends ConnectionFatalError {
  override readonly code = 'JOCKO_FRAME_TOO_LARGE';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`request size ${size} is outside 0..${limit} (socket.request.max.bytes)`);
    this.name = 'FrameTooLargeError';
  }
}

export function isConnectionFatal(err: unknown): err is ConnectionFatalError {
  return err instanceof ConnectionFatalError;
}
