/** Limits the Worker passes to its number's PhoneLimiter on each call. */
export interface SendLimits {
  ttlMs: number;
  cooldownMs: number;
  maxSendsPerHour: number;
  maxFailuresPerDay: number;
}

export interface AttemptLimits {
  maxAttempts: number;
  maxFailuresPerDay: number;
}

/** Why a send or a check was refused; retryAfterMs says when it can succeed. */
export type Refusal =
  | { ok: false; reason: "locked"; retryAfterMs: number }
  | { ok: false; reason: "cooldown"; retryAfterMs: number }
  | { ok: false; reason: "hourly_limit"; retryAfterMs: number };

export type SendReservation = { ok: true; codeId: string; expiresAt: number } | Refusal;

/** Why no guess can be checked against the number's code right now. */
export type NoCheckableCode =
  | { outcome: "none" }
  | { outcome: "expired" }
  | { outcome: "exhausted" }
  | { outcome: "locked"; retryAfterMs: number };

/** What the object knows of the current code before any guess is made. */
export type PendingCode = { outcome: "pending"; codeId: string } | NoCheckableCode;

/** The result of one guess, decided atomically inside the object. */
export type AttemptOutcome = { outcome: "verified" } | { outcome: "wrong"; attemptsLeft: number } | NoCheckableCode;
