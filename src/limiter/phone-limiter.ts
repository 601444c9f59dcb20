import { DurableObject } from "cloudflare:workers";
import type {
  AttemptLimits,
  AttemptOutcome,
  NoCheckableCode,
  PendingCode,
  SendLimits,
  SendReservation,
} from "./limiter-types";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const STATE_KEY = "state";

/** Everything counted for one phone number. Kept small: both lists are pruned on every access. */
export interface LimiterState {
  /** Times of sends within the last hour, oldest first. */
  sends: number[];
  /** Times of wrong guesses within the last 24 hours, oldest first. */
  failures: number[];
  /** The current code, if one was issued; a new send replaces it. */
  code: { id: string; issuedAt: number; expiresAt: number; attempts: number; used: boolean } | null;
}

/**
 * One instance per E.164 number (`env.PHONE_LIMITER.getByName(e164)`): the
 * single source of truth for sends, cooldown, attempts, failures and single use.
 *
 * Every method reads and writes storage through the synchronous SQLite-backed
 * KV API and awaits nothing before its decision is written, so each call is
 * atomic: concurrent requests for one number are decided one after another.
 */
export class PhoneLimiter extends DurableObject<Env> {
  /** Reserve a send: refuse if locked, cooling down or over the hourly limit; else issue a new code id. */
  async reserveSend(limits: SendLimits): Promise<SendReservation> {
    const now = Date.now();
    const state = this.load(now);
    const locked = lockedFor(state, now, limits.maxFailuresPerDay);
    if (locked > 0) return { ok: false, reason: "locked", retryAfterMs: locked };
    const last = state.sends.at(-1);
    if (last !== undefined && now - last < limits.cooldownMs) {
      return { ok: false, reason: "cooldown", retryAfterMs: last + limits.cooldownMs - now };
    }
    if (state.sends.length >= limits.maxSendsPerHour) {
      const freesAt = state.sends[state.sends.length - limits.maxSendsPerHour]! + HOUR_MS;
      return { ok: false, reason: "hourly_limit", retryAfterMs: freesAt - now };
    }
    const code = { id: crypto.randomUUID(), issuedAt: now, expiresAt: now + limits.ttlMs, attempts: 0, used: false };
    state.sends.push(now);
    state.code = code;
    await this.save(state);
    return { ok: true, codeId: code.id, expiresAt: code.expiresAt };
  }

  /**
   * Undo a reservation that another check refused before any SMS was attempted:
   * the code is dropped and its send no longer counts.
   */
  async releaseSend(codeId: string): Promise<void> {
    const state = this.load(Date.now());
    if (state.code?.id !== codeId) return;
    const index = state.sends.lastIndexOf(state.code.issuedAt);
    if (index >= 0) state.sends.splice(index, 1);
    state.code = null;
    await this.save(state);
  }

  /** Kill a code whose SMS failed. The send still counts (see README, "Failed sends count"). */
  async cancelCode(codeId: string): Promise<void> {
    const state = this.load(Date.now());
    if (state.code?.id !== codeId) return;
    state.code = null;
    await this.save(state);
  }

  /** Which code a guess would be checked against, without counting anything. */
  async pendingCode(limits: AttemptLimits): Promise<PendingCode> {
    const now = Date.now();
    const state = this.load(now);
    return refuse(state, now, limits) ?? { outcome: "pending", codeId: state.code!.id };
  }

  /**
   * Record one guess at code `codeId`, whose hash the Worker has already
   * compared (`matched`). Checks and updates in one step: the guess counts only
   * if that code is still current, unused, unexpired and has tries left, and
   * the number is not locked. A right guess uses the code up.
   */
  async recordAttempt(codeId: string, matched: boolean, limits: AttemptLimits): Promise<AttemptOutcome> {
    const now = Date.now();
    const state = this.load(now);
    const refusal = refuse(state, now, limits);
    if (refusal) return refusal;
    const code = state.code!;
    if (code.id !== codeId) return { outcome: "none" };
    if (matched) {
      code.used = true;
    } else {
      code.attempts += 1;
      state.failures.push(now);
    }
    await this.save(state);
    if (matched) return { outcome: "verified" };
    const triesLeft = limits.maxAttempts - code.attempts;
    const failuresLeft = limits.maxFailuresPerDay - state.failures.length;
    return { outcome: "wrong", attemptsLeft: Math.max(0, Math.min(triesLeft, failuresLeft)) };
  }

  /** Deletes everything once nothing in it can matter any more. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    await this.save(this.load(now));
  }

  private load(now: number): LimiterState {
    const state = this.ctx.storage.kv.get<LimiterState>(STATE_KEY) ?? { sends: [], failures: [], code: null };
    state.sends = state.sends.filter((t) => t > now - HOUR_MS);
    state.failures = state.failures.filter((t) => t > now - DAY_MS);
    if (state.code && state.code.expiresAt <= now - HOUR_MS) state.code = null;
    return state;
  }

  /** Writes the state, or deletes it when empty; the alarm fires when the last entry ages out. */
  private async save(state: LimiterState): Promise<void> {
    const horizon = Math.max(
      (state.sends.at(-1) ?? 0) + HOUR_MS,
      (state.failures.at(-1) ?? 0) + DAY_MS,
      state.code ? state.code.expiresAt + HOUR_MS : 0,
    );
    if (state.sends.length === 0 && state.failures.length === 0 && state.code === null) {
      this.ctx.storage.kv.delete(STATE_KEY);
      await this.ctx.storage.deleteAlarm();
      return;
    }
    this.ctx.storage.kv.put(STATE_KEY, state);
    await this.ctx.storage.setAlarm(horizon);
  }
}

/** Milliseconds until the number is unlocked, or 0 when it is not locked. */
function lockedFor(state: LimiterState, now: number, maxFailuresPerDay: number): number {
  const n = state.failures.length;
  if (n < maxFailuresPerDay) return 0;
  return state.failures[n - maxFailuresPerDay]! + DAY_MS - now;
}

/** The reason no guess can be checked now, if there is one. */
function refuse(
  state: LimiterState,
  now: number,
  limits: AttemptLimits,
): NoCheckableCode | undefined {
  const locked = lockedFor(state, now, limits.maxFailuresPerDay);
  if (locked > 0) return { outcome: "locked", retryAfterMs: locked };
  const code = state.code;
  if (!code || code.used) return { outcome: "none" };
  if (now >= code.expiresAt) return { outcome: "expired" };
  if (code.attempts >= limits.maxAttempts) return { outcome: "exhausted" };
  return undefined;
}
