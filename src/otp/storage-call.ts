import { ServiceError, UnavailableError } from "../errors/service-error";

const RETRY_AFTER_SECONDS = 5;

/**
 * Runs one KV or Durable Object call with a deadline. A throw (including a
 * Durable Object's "overloaded" error) or a call slower than `timeoutMs`
 * becomes 503 `unavailable` with Retry-After; the cause is kept for the log.
 * Errors the service raised on purpose (ServiceError) pass through.
 */
export async function storageCall<T>(timeoutMs: number, op: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`storage call took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([op(), deadline]);
  } catch (err) {
    throw asUnavailable(err);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

export function asUnavailable(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  return new UnavailableError("Storage is temporarily unavailable. Try again in a few seconds.", {
    cause: err,
    retryAfter: RETRY_AFTER_SECONDS,
  });
}
