// The typed failure of an outgoing fetch. Codes are a subset of the engines' EngineErrorCode, so
// the HTTP engine and the parse-time probe report the same stable codes.

export type FetchErrorCode =
  | 'URL_FORBIDDEN'
  | 'NETWORK_ERROR'
  | 'REDIRECT_INVALID'
  | 'SIZE_MISMATCH'
  | 'SOURCE_INVALID'
  | 'PROTOCOL_UNSUPPORTED'
  | 'SPACE_EXCEEDED'
  | `HTTP_${number}`;

export class FetchError extends Error {
  override readonly name = 'FetchError';

  constructor(
    readonly code: FetchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The HTTP status for an `HTTP_<status>` error, else null. */
  get status(): number | null {
    return this.code.startsWith('HTTP_') ? Number(this.code.slice(5)) : null;
  }

  /**
   * Whether trying again soon may succeed: connection failures, timeouts, 5xx, 408 and 429.
   * A refused address, a bad redirect or another 4xx will answer the same way next time.
   */
  get transient(): boolean {
    const status = this.status;
    if (status !== null) return status >= 500 || status === 408 || status === 429;
    return this.code === 'NETWORK_ERROR' || this.code === 'SIZE_MISMATCH';
  }
}

export function isFetchError(err: unknown): err is FetchError {
  return err instanceof FetchError;
}

/** Any error from a request (socket, DNS, timeout) as a FetchError; FetchErrors pass through. */
export function asFetchError(err: unknown): FetchError {
  if (err instanceof FetchError) return err;
  // net passes the lookup callback's error on, but may wrap it (autoSelectFamily's AggregateError).
  const inner = (err as { errors?: unknown[] } | null)?.errors?.find((e) => e instanceof FetchError);
  if (inner instanceof FetchError) return inner;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return new FetchError('NETWORK_ERROR', code !== undefined ? `${code}: ${message}` : message, { cause: err });
}
