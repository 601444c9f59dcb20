import { ServiceError, UnavailableError } from "../kernel/errors/service-error";
import { log } from "../kernel/log/log";

const RETRY_AFTER_SECONDS = 5;
const LATE_ANSWER_WAIT_MS = 30_000;

/** Undoes whatever one storage call may have committed; idempotent, keyed by ids the Worker made. */
export type Undo = () => Promise<void>;

export interface StorageCallOptions {
  timeoutMs: number;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  background: (work: Promise<unknown>) => void;
}

/**
 * Runs one KV or Durable Object call with a deadline. A throw (including a
 * Durable Object's "overloaded" error) or a call slower than `timeoutMs`
 * becomes 503 `unavailable` with Retry-After; the cause is kept for the log.
 *
 * A call that failed or passed its deadline may still commit (the object got
 * it and answered too late, or the answer was lost). So when `undo` is
 * given, it runs in the background at once and again once the call settles,
 * and whatever the call committed is taken back: after a 503, nothing is
 * counted and nothing is killed. Errors the service raised on purpose
 * (ServiceError) pass through.
 */
export async function storageCall<T>(options: StorageCallOptions, op: () => Promise<T>, undo?: Undo): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`storage call took longer than ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
  });
  const call = op();
  try {
    return await Promise.race([call, deadline]);
  } catch (err) {
    if (undo) undoInBackground(options, call, undo);
    throw asUnavailable(err);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function undoInBackground(options: StorageCallOptions, call: Promise<unknown>, undo: Undo): void {
  const attempt = () => undo().catch((error: unknown) => log("storage.undo_failed", { error }));
  options.background(attempt());
  // Wait for the late answer only as long as work after a response may run (waitUntil: 30 s).
  const giveUp = new Promise<void>((resolve) =>
    setTimeout(resolve, Math.min(6 * options.timeoutMs, LATE_ANSWER_WAIT_MS)),
  );
  options.background(Promise.race([call.then(attempt, attempt), giveUp]));
}

export function asUnavailable(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  return new UnavailableError(
    "Storage is temporarily unavailable. Nothing was sent or counted; try again in a few seconds.",
    {
      cause: err,
      retryAfter: RETRY_AFTER_SECONDS,
    },
  );
}
