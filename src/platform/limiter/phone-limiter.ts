/**
 * Platform layer: the Durable Objects that count and decide (src/platform/limiter/).
 * PhoneLimiter (this file, one per number; its client is limiter-for.ts) and
 * QuotaCounter (quota-counter.ts, one per client and per day, with its client).
 * They know nothing of HTTP; the OTP rules in src/domain/otp/ drive them.
 */
import { DurableObject } from "cloudflare:workers";
import { DAY_MS, HOUR_MS } from "../../kernel/time";
import type {
  AttemptOutcome,
  AttemptRequest,
  InspectLimits,
  LastSms,
  NumberInspection,
  PhoneLimiterRpc,
  SendLimits,
  SendRequest,
  SendReservation,
} from "./limiter-types";

const STATE_KEY = "state";

/** One issued code. Several can be live at once: a new send never kills an older code. */
export interface CodeRecord {
  id: string;
  /** The client key that asked for it; wrong guesses at it count against that client. */
  client: string;
  issuedAt: number;
  expiresAt: number;
  /** Wrong guesses so far. */
  attempts: number;
  /** The attempt that used it up, once a right guess was made. */
  usedBy: string | null;
}

/** Everything counted for one phone number. Kept small: every list is pruned on every access. */
export interface LimiterState {
  /** Sends within the last hour, oldest first, each with the client that asked for it. */
  sends: { at: number; codeId: string; client: string }[];
  /** Wrong guesses within the last 24 hours, oldest first, each with the client that asked for the code. */
  failures: { at: number; client: string; codeId: string; attemptId: string }[];
  /** Codes issued within the last TTL + 1 hour, oldest first. */
  codes: CodeRecord[];
  /** Code ids and attempt ids the Worker undid within the last hour: a late call with one of them does nothing. */
  cancelled: { id: string; at: number }[];
  /**
   * Clients that signed in to this number within TRUSTED_FOR_MS, newest last
   * (at most MAX_TRUSTED): the number-wide ceilings do not hold them back,
   * so strangers filling those ceilings cannot keep a returning owner out.
   */
  trusted: { client: string; at: number }[];
  /** How the last SMS or call went, kept LAST_SMS_FOR_MS for the operator. */
  lastSms: LastSms | null;
}

const TRUSTED_FOR_MS = 30 * DAY_MS;
const MAX_TRUSTED = 5;
const LAST_SMS_FOR_MS = 30 * DAY_MS;

/**
 * One instance per E.164 number (`env.PHONE_LIMITER.getByName(e164)`): the
 * single source of truth for sends, cooldown, codes, attempts and failures.
 *
 * Every method reads and writes storage through the synchronous SQLite-backed
 * KV API and awaits nothing before its decision is written, so each call is
 * atomic: concurrent requests for one number are decided one after another.
 * Every method is idempotent for the ids it is given, so the Worker can undo
 * or repeat a call whose answer it did not get in time.
 */
export class PhoneLimiter extends DurableObject<Env> implements PhoneLimiterRpc {
  /**
   * Reserve a send and make code `codeId` live. Refused while the number or
   * this client is locked by wrong guesses, in the resend cooldown, or over
   * the hourly limit. Codes already live stay live.
   */
  async reserveSend({ codeId, client, limits }: SendRequest): Promise<SendReservation> {
    const now = Date.now();
    const state = this.load(now);
    if (state.cancelled.some((c) => c.id === codeId)) return { outcome: "cancelled" };
    const existing = state.codes.find((c) => c.id === codeId);
    if (existing) return { outcome: "reserved", expiresAt: existing.expiresAt };
    const trusted = state.trusted.some((t) => t.client === client);
    const locked = lockedFor(state, client, now, limits, trusted);
    if (locked > 0) return { outcome: "locked", retryAfterMs: locked };
    // The cooldown and the hourly limit are per client, so nobody else's sends delay the owner's.
    const mine = state.sends.filter((s) => s.client === client);
    const last = mine.at(-1);
    if (last !== undefined && now - last.at < limits.cooldownMs) {
      return { outcome: "cooldown", retryAfterMs: last.at + limits.cooldownMs - now };
    }
    if (mine.length >= limits.maxSendsPerHour) {
      const freesAt = mine[mine.length - limits.maxSendsPerHour]!.at + HOUR_MS;
      return { outcome: "hourly_limit", retryAfterMs: freesAt - now };
    }
    if (!trusted && state.sends.length >= limits.maxSendsPerNumberPerHour) {
      const freesAt = state.sends[state.sends.length - limits.maxSendsPerNumberPerHour]!.at + HOUR_MS;
      return { outcome: "number_limit", retryAfterMs: freesAt - now };
    }
    const code: CodeRecord = {
      id: codeId,
      client,
      issuedAt: now,
      expiresAt: now + limits.ttlMs,
      attempts: 0,
      usedBy: null,
    };
    state.sends.push({ at: now, codeId, client });
    state.codes.push(code);
    await this.save(state);
    return { outcome: "reserved", expiresAt: code.expiresAt };
  }

  async releaseSend(codeId: string): Promise<void> {
    const now = Date.now();
    const state = this.load(now);
    state.sends = state.sends.filter((s) => s.codeId !== codeId);
    state.codes = state.codes.filter((c) => c.id !== codeId);
    tombstone(state, codeId, now);
    await this.save(state);
  }

  async cancelCode(codeId: string): Promise<void> {
    const state = this.load(Date.now());
    const before = state.codes.length;
    state.codes = state.codes.filter((c) => c.id !== codeId);
    if (state.codes.length !== before) await this.save(state);
  }

  async newestLiveCode(maxAttempts: number): Promise<string | null> {
    const now = Date.now();
    const live = this.load(now).codes.filter((c) => isLive(c, now, maxAttempts));
    return live.at(-1)?.id ?? null;
  }

  /**
   * Record one guess at code `codeId`, whose hash the Worker has already
   * compared. Checks and updates in one step: the guess counts only if that
   * code is live (issued for this number, unused, unexpired, tries left). A
   * right guess uses the code up; a wrong one spends one of its tries and
   * counts against the client that asked for the code.
   */
  async recordAttempt({ codeId, attemptId, matched, maxAttempts, chargeTo }: AttemptRequest): Promise<AttemptOutcome> {
    const now = Date.now();
    const state = this.load(now);
    if (state.cancelled.some((c) => c.id === attemptId)) return { outcome: "not_live" };
    const code = state.codes.find((c) => c.id === codeId);
    if (!code || !isLive(code, now, maxAttempts)) return { outcome: "not_live" };
    if (matched) {
      code.usedBy = attemptId;
      state.trusted = [
        ...state.trusted.filter((t) => t.client !== code.client),
        { client: code.client, at: now },
      ].slice(-MAX_TRUSTED);
    } else {
      code.attempts += 1;
      state.failures.push({ at: now, client: chargeTo ?? code.client, codeId, attemptId });
    }
    await this.save(state);
    return matched
      ? { outcome: "verified" }
      : { outcome: "wrong", attemptsLeft: Math.max(0, maxAttempts - code.attempts) };
  }

  async undoAttempt(codeId: string, attemptId: string): Promise<void> {
    const now = Date.now();
    const state = this.load(now);
    const code = state.codes.find((c) => c.id === codeId);
    if (code?.usedBy === attemptId) code.usedBy = null;
    const index = state.failures.findIndex((f) => f.attemptId === attemptId && f.codeId === codeId);
    if (index >= 0) {
      state.failures.splice(index, 1);
      if (code) code.attempts = Math.max(0, code.attempts - 1);
    }
    tombstone(state, attemptId, now);
    await this.save(state);
  }

  async recordDelivery(last: LastSms): Promise<void> {
    const state = this.load(Date.now());
    if (state.lastSms && state.lastSms.at > last.at) return;
    state.lastSms = last;
    await this.save(state);
  }

  async inspect(limits: InspectLimits): Promise<NumberInspection> {
    const now = Date.now();
    const state = this.load(now);
    const live = state.codes.filter((c) => isLive(c, now, limits.maxAttempts)).at(-1);
    const numberLock = waitFor(state.failures, limits.maxFailuresPerNumber, now);
    const clientLocks = [...new Set(state.failures.map((f) => f.client))]
      .map((client) =>
        waitFor(
          state.failures.filter((f) => f.client === client),
          limits.maxFailuresPerClient,
          now,
        ),
      )
      .filter((ms) => ms > 0);
    const longest = Math.max(numberLock, ...clientLocks);
    return {
      sendsLastHour: state.sends.length,
      failuresLastDay: state.failures.length,
      lockedUntil: longest > 0 ? now + longest : null,
      numberLocked: numberLock > 0,
      clientsLocked: clientLocks.length,
      liveCode: live
        ? { expiresAt: live.expiresAt, attemptsLeft: Math.max(0, limits.maxAttempts - live.attempts) }
        : null,
      lastSms: state.lastSms,
    };
  }

  async unlock(): Promise<void> {
    const state = this.load(Date.now());
    state.failures = [];
    state.sends = [];
    await this.save(state);
  }

  /** Deletes what has aged out, and everything once nothing in it can matter any more. */
  override async alarm(): Promise<void> {
    await this.save(this.load(Date.now()));
  }

  private load(now: number): LimiterState {
    const stored = this.ctx.storage.kv.get<Partial<LimiterState>>(STATE_KEY);
    return {
      sends: (stored?.sends ?? []).filter((s) => s.at > now - HOUR_MS),
      failures: (stored?.failures ?? []).filter((f) => f.at > now - DAY_MS),
      codes: (stored?.codes ?? []).filter((c) => c.expiresAt > now - HOUR_MS),
      cancelled: (stored?.cancelled ?? []).filter((c) => c.at > now - HOUR_MS),
      trusted: (stored?.trusted ?? []).filter((t) => t.at > now - TRUSTED_FOR_MS),
      lastSms: stored?.lastSms && stored.lastSms.at > now - LAST_SMS_FOR_MS ? stored.lastSms : null,
    };
  }

  /** Writes the state, or deletes it when empty; the alarm fires when the last entry ages out. */
  private async save(state: LimiterState): Promise<void> {
    const entries = state.sends.length + state.failures.length + state.codes.length + state.cancelled.length;
    if (entries + state.trusted.length === 0 && state.lastSms === null) {
      this.ctx.storage.kv.delete(STATE_KEY);
      await this.ctx.storage.deleteAlarm();
      return;
    }
    this.ctx.storage.kv.put(STATE_KEY, state);
    const horizon = Math.max(
      (state.sends.at(-1)?.at ?? 0) + HOUR_MS,
      (state.failures.at(-1)?.at ?? 0) + DAY_MS,
      ...state.codes.map((c) => c.expiresAt + HOUR_MS),
      ...state.cancelled.map((c) => c.at + HOUR_MS),
      ...state.trusted.map((t) => t.at + TRUSTED_FOR_MS),
      state.lastSms ? state.lastSms.at + LAST_SMS_FOR_MS : 0,
    );
    await this.ctx.storage.setAlarm(horizon);
  }
}

/** Remembers an id the Worker gave up, so a call with it that arrives late does nothing. */
function tombstone(state: LimiterState, id: string, now: number): void {
  if (!state.cancelled.some((c) => c.id === id)) state.cancelled.push({ id, at: now });
}

function isLive(code: CodeRecord, now: number, maxAttempts: number): boolean {
  return code.usedBy === null && now < code.expiresAt && code.attempts < maxAttempts;
}

/**
 * Milliseconds until `client` may be sent a new code again, or 0. Two limits,
 * both on wrong guesses in the last 24 hours that carried a valid
 * verification_id: those at codes this client asked for (a stranger's
 * guesses never lock the owner's network), and those at all the number's
 * codes (the ceiling that bounds an attacker with many networks; a client
 * that signed in to the number recently is not held by it). Neither stops a
 * code already sent from being checked.
 */
function lockedFor(state: LimiterState, client: string, now: number, limits: SendLimits, trusted: boolean): number {
  return Math.max(
    trusted ? 0 : waitFor(state.failures, limits.maxFailuresPerNumber, now),
    waitFor(
      state.failures.filter((f) => f.client === client),
      limits.maxFailuresPerClient,
      now,
    ),
  );
}

/** Milliseconds until fewer than `max` of these failures are within 24 hours, or 0. */
function waitFor(failures: readonly { at: number }[], max: number, now: number): number {
  return failures.length < max ? 0 : failures[failures.length - max]!.at + DAY_MS - now;
}
