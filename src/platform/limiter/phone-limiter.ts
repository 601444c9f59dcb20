/**
 * Platform layer: the Durable Objects that count and decide (src/platform/limiter/).
 * PhoneLimiter (this file, one per number, with its client limiterFor),
 * QuotaCounter (quota-counter.ts, one per client key, with its client) and
 * BudgetShard (budget-shard.ts, the day's budget and networks' hourly sends).
 * They know nothing of HTTP; the OTP rules in src/domain/otp/ drive them.
 */
import { DurableObject } from "cloudflare:workers";
import { log } from "../../kernel/log/log";
import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";
import { DAY_MS, HOUR_MS } from "../../kernel/time";
import { SessionTable } from "../sessions/session-table";
import type { IssuedToken, PresentedToken, RefreshResult, SessionInfo, SessionLimits } from "../sessions/session-types";
import type { Channel } from "../sms/sms-gateway";
import type {
  AttemptOutcome,
  AttemptRequest,
  AttemptUndoOptions,
  CodeDelivery,
  CodeMessage,
  CodeUse,
  FallbackPlan,
  FallbackResult,
  FallbackSkipReason,
  GatewayReport,
  InspectLimits,
  LastSms,
  NumberInspection,
  PhoneLimiterRpc,
  ReportOutcome,
  SendLimits,
  SendRequest,
  SendReservation,
  SentMessage,
  UndoOptions,
} from "./limiter-types";

const STATE_KEY = "state";

/**
 * How long the object holds a new code's hash beside KV: KV may take 60 s
 * or more to carry a write to other locations, and a location that looked
 * the key up before it arrived may keep answering "missing" for its cache
 * time (60 s) after that. Three minutes covers both with a margin; after
 * it, a miss in KV means the code is gone.
 */
export const HASH_HELD_MS = 180_000;

/**
 * The growing wait that wrong guesses at the codes of a shared client key
 * (a carrier's NAT address, an IPv6 /48) put on that key's new codes for the
 * number, once there are as many as the per-client lock's threshold: the
 * first wait, doubled for each further failure, never longer than
 * THROTTLE_MAX_MS. So a stranger behind the same NAT or in the same /48 can
 * delay the owner's next code by at most an hour after the stranger's last
 * wrong guess, never lock it for a day; other keys are not held at all.
 */
export const THROTTLE_FIRST_MS = 60_000;
export const THROTTLE_MAX_MS = HOUR_MS;

/** One issued code. Several can be live at once: a new send never kills an older code. */
export interface CodeRecord {
  id: string;
  /** The client key that asked for it; wrong guesses at it count against that client. */
  client: string;
  /** Whether that client key may stand for many people (a carrier's NAT address, an IPv6 /48). */
  shared?: boolean;
  /** Where a sign-in with this code is remembered for the "signed in here before" trust; absent: nowhere. */
  trustKey?: string;
  /** The code's keyed hash, held until `hashUntil` (HASH_HELD_MS) while KV reaches every location. */
  hash?: string;
  hashUntil?: number;
  issuedAt: number;
  expiresAt: number;
  /** Wrong guesses so far. */
  attempts: number;
  /** The attempt that used it up, once a right guess was made. */
  /** Reads of its delivery by /verification-status (STATUS_POLLS_PER_CODE at most). */
  statusReads?: number;
  usedBy: string | null;
  /** The channel it was asked for on; sms when absent. */
  channel?: Channel;
  /** The messages that carried it, oldest first, with their delivery reports (at most MAX_MESSAGES_PER_CODE). */
  messages?: CodeMessage[];
  /** Where the same code goes next if its latest message is not delivered in time; only while one may be needed. */
  fallback?: FallbackPlan;
  /** Why its last due fallback did not go out: the budget or the fraud guard refused it, or every gateway left had its breaker open. */
  fallbackSkipped?: FallbackSkipReason;
}

/** One send per code today; room for fallbacks, and a bound however a code's messages are recorded. */
const MAX_MESSAGES_PER_CODE = 5;

/** Everything counted for one phone number. Kept small: every list is pruned on every access. */
export interface LimiterState {
  /** Sends within the last hour, oldest first, each with the client that asked for it. */
  sends: { at: number; codeId: string; client: string }[];
  /**
   * Wrong guesses within the last 24 hours, oldest first, each with the
   * client that asked for the code; `shared` when that client stands for
   * many people (they throttle instead of lock).
   */
  failures: { at: number; client: string; codeId: string; attemptId: string; shared?: boolean }[];
  /** Codes issued within the last TTL + 1 hour, oldest first. */
  codes: CodeRecord[];
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
 * KV and SQL APIs and awaits nothing before its decision is written, so each
 * call is atomic: concurrent requests for one number are decided one after
 * another. Every method is idempotent for the ids it is given, so the Worker
 * can undo or repeat a call whose answer it did not get in time.
 *
 * The state is one small value (every list pruned by time on each access),
 * plus tombstones as rows of their own with an expiry: an id the Worker gave
 * up after its call passed the deadline, so that call does nothing if it
 * arrives late. A refused request leaves nothing behind.
 */
export class PhoneLimiter extends DurableObject<Env> implements PhoneLimiterRpc {
  /**
   * The number's refresh-token sessions (session-table.ts), in this object's
   * SQLite beside its codes: a right guess starts its session in the same
   * call that uses the code up, so a sign-in's verify makes one call here.
   */
  private readonly sessions = new SessionTable(this.ctx.storage, (expired) => this.sessionsExpired(expired));

  /**
   * Reserve a send and make code `codeId` live. Refused while the number or
   * this client is locked by wrong guesses, in the resend cooldown, or over
   * the hourly limit. Codes already live stay live.
   */
  async reserveSend({
    codeId,
    client,
    shared,
    trustKey,
    hash,
    channel,
    limits,
  }: SendRequest): Promise<SendReservation> {
    const now = Date.now();
    const state = this.load(now);
    if (this.isTombstoned(codeId, now)) return { outcome: "cancelled" };
    const existing = state.codes.find((c) => c.id === codeId);
    if (existing) return { outcome: "reserved", expiresAt: existing.expiresAt };
    // A carrier's NAT address is many people: having signed in from it says nothing about who asks now.
    const trusted = trustKey !== null && state.trusted.some((t) => t.client === trustKey);
    if (shared) {
      // A key that may be many people is slowed down, never locked (sharedWait); a client that signed in
      // to the number from its own address or /64 is not held by what others behind the key did.
      const throttled = trusted ? 0 : sharedWait(state, client, now, limits);
      if (throttled > 0) return { outcome: "throttled", retryAfterMs: throttled };
    } else {
      const locked = lockedFor(state, client, now, limits, trusted);
      if (locked > 0) return { outcome: "locked", retryAfterMs: locked };
    }
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
      ...(shared ? { shared: true } : {}),
      ...(trustKey === null ? {} : { trustKey }),
      hash,
      hashUntil: now + Math.min(HASH_HELD_MS, limits.ttlMs),
      issuedAt: now,
      expiresAt: now + limits.ttlMs,
      attempts: 0,
      usedBy: null,
      ...(channel === undefined || channel === "sms" ? {} : { channel }),
    };
    state.sends.push({ at: now, codeId, client });
    state.codes.push(code);
    await this.save(state);
    return { outcome: "reserved", expiresAt: code.expiresAt };
  }

  async releaseSend(codeId: string, options: UndoOptions): Promise<void> {
    const now = Date.now();
    const state = this.load(now);
    if (options.late) this.tombstone(codeId, now);
    const before = state.sends.length + state.codes.length;
    state.sends = state.sends.filter((s) => s.codeId !== codeId);
    state.codes = state.codes.filter((c) => c.id !== codeId);
    if (state.sends.length + state.codes.length !== before || options.late) await this.save(state);
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
  async recordAttempt({
    codeId,
    attemptId,
    check,
    maxAttempts,
    chargeTo,
    session,
  }: AttemptRequest): Promise<AttemptOutcome> {
    const now = Date.now();
    const state = this.load(now);
    if (this.isTombstoned(attemptId, now)) return { outcome: "not_live" };
    const code = state.codes.find((c) => c.id === codeId);
    if (!code || !isLive(code, now, maxAttempts)) return { outcome: "not_live" };
    let matched: boolean;
    if ("matched" in check) matched = check.matched;
    else if (code.hash !== undefined && code.hashUntil !== undefined && now < code.hashUntil) {
      // A young code: this object's copy of the hash decides, with no KV read (which may not have it yet).
      matched = sameHash(code.hash, check.guessHash);
    } else return { outcome: "hash_not_held" };
    if (matched) {
      code.usedBy = attemptId;
      // Used: no fallback can be needed, so its sealed code goes.
      delete code.fallback;
      const trustKey = code.trustKey;
      if (trustKey !== undefined) {
        state.trusted = [...state.trusted.filter((t) => t.client !== trustKey), { client: trustKey, at: now }].slice(
          -MAX_TRUSTED,
        );
      }
    } else {
      code.attempts += 1;
      const shared = chargeTo === undefined ? code.shared === true : chargeTo.shared;
      state.failures.push({
        at: now,
        client: chargeTo?.client ?? code.client,
        codeId,
        attemptId,
        ...(shared ? { shared: true } : {}),
      });
      if (code.attempts >= maxAttempts) delete code.fallback;
    }
    // The session, in the same synchronous step as the code's use (save arms the alarm for both).
    const created =
      matched && session ? this.sessions.create(session.e164, session.session, session.limits) : undefined;
    await this.save(state);
    if (!matched) return { outcome: "wrong", attemptsLeft: Math.max(0, maxAttempts - code.attempts) };
    return created ? { outcome: "verified", session: created } : { outcome: "verified" };
  }

  async undoAttempt(codeId: string, attemptId: string, options: AttemptUndoOptions): Promise<void> {
    const now = Date.now();
    const state = this.load(now);
    if (options.late) this.tombstone(attemptId, now);
    // The session its right guess started ends (a tombstone too, so a late create makes none), and
    // the sessions it evicted come back.
    if (options.sessionId !== undefined) this.sessions.undoCreate(options.sessionId);
    const code = state.codes.find((c) => c.id === codeId);
    if (code?.usedBy === attemptId) code.usedBy = null;
    const index = state.failures.findIndex((f) => f.attemptId === attemptId && f.codeId === codeId);
    if (index >= 0) {
      state.failures.splice(index, 1);
      if (code) code.attempts = Math.max(0, code.attempts - 1);
    }
    await this.save(state);
  }

  async recordDelivery(last: LastSms, sent?: SentMessage): Promise<void> {
    const now = Date.now();
    const state = this.load(now);
    let changed = false;
    if (!state.lastSms || state.lastSms.at <= last.at) {
      state.lastSms = last;
      changed = true;
    }
    const code = sent && state.codes.find((c) => c.id === sent.codeId);
    if (sent && code) {
      const messages = code.messages ?? [];
      const { gateway, gatewayMessageId, sentAt } = sent.message;
      const known = messages.some(
        (m) => m.gateway === gateway && m.gatewayMessageId === gatewayMessageId && m.sentAt === sentAt,
      );
      if (!known) {
        code.messages = [...messages, sent.message].slice(-MAX_MESSAGES_PER_CODE);
        // Only for a code still live: a verify that came first, or spent tries, needs no fallback (and no sealed code).
        if (sent.fallback && isLive(code, now, sent.fallback.maxAttempts)) code.fallback = sent.fallback;
        changed = true;
      }
    }
    if (changed) await this.save(state);
  }

  async recordReports(reports: readonly GatewayReport[]): Promise<ReportOutcome[]> {
    const now = Date.now();
    const state = this.load(now);
    const outcomes = reports.map((report): ReportOutcome => {
      const code = state.codes.find((c) =>
        (c.messages ?? []).some((m) => m.gateway === report.gateway && m.gatewayMessageId === report.messageId),
      );
      const message = code?.messages?.find(
        (m) => m.gateway === report.gateway && m.gatewayMessageId === report.messageId,
      );
      if (!code || !message) return "unknown";
      const wasFailed = message.status === "failed";
      if (!advance(message, report, now)) return "unchanged";
      // Delivered: no further message, and the sealed code goes. The latest message failed: the fallback is due now.
      if (message.status === "delivered") delete code.fallback;
      else if (code.fallback && code.messages?.at(-1) === message)
        code.fallback.dueAt = Math.min(code.fallback.dueAt, now);
      const { status, channel, gateway, sentAt } = message;
      const at = (status === "delivered" ? message.deliveredAt : message.failedAt) ?? now;
      return {
        outcome: "applied",
        status: status === "delivered" ? "delivered" : "failed",
        wasFailed,
        channel,
        gateway,
        sentAt,
        at,
        codeId: code.id,
        stillTrying:
          code.fallback !== undefined || (code.messages ?? []).some((m) => m !== message && m.status !== "failed"),
      };
    });
    if (outcomes.some((o) => o !== "unchanged" && o !== "unknown")) await this.save(state);
    return outcomes;
  }

  async codeDelivery(codeId: string, maxAttempts: number): Promise<CodeDelivery | { refused: number } | null> {
    const now = Date.now();
    const state = this.load(now);
    const code = state.codes.find((c) => c.id === codeId);
    if (!code || !isLive(code, now, maxAttempts)) return null;
    // Whoever holds the id may ask, but not without end: the reads of one code are counted on it.
    if ((code.statusReads ?? 0) >= STATUS_POLLS_PER_CODE) return { refused: code.expiresAt - now };
    code.statusReads = (code.statusReads ?? 0) + 1;
    await this.save(state);
    return {
      issuedAt: code.issuedAt,
      expiresAt: code.expiresAt,
      channel: code.channel ?? "sms",
      messages: code.messages ?? [],
    };
  }

  async codeUses(codeIds: readonly string[], maxAttempts: number): Promise<CodeUse[]> {
    const now = Date.now();
    const codes = new Map(this.load(now).codes.map((c) => [c.id, c]));
    return codeIds.map((codeId): CodeUse => {
      const code = codes.get(codeId);
      if (code !== undefined && code.usedBy !== null) return { codeId, verified: true };
      return { codeId, verified: false, liveUntil: code && isLive(code, now, maxAttempts) ? code.expiresAt : null };
    });
  }

  async inspect(limits: InspectLimits): Promise<NumberInspection> {
    const now = Date.now();
    const state = this.load(now);
    const live = state.codes.filter((c) => isLive(c, now, limits.maxAttempts)).at(-1);
    const locking = state.failures.filter((f) => !f.shared);
    const numberLock = waitFor(
      countedFailures(state.failures, limits.maxFailuresPerClient),
      limits.maxFailuresPerNumber,
      now,
    );
    const clientLocks = [...new Set(locking.map((f) => f.client))]
      .map((client) =>
        waitFor(
          locking.filter((f) => f.client === client),
          limits.maxFailuresPerClient,
          now,
        ),
      )
      .filter((ms) => ms > 0);
    const throttles = [...new Set(state.failures.filter((f) => f.shared).map((f) => f.client))].map((client) =>
      throttleFor(
        state.failures.filter((f) => f.shared && f.client === client),
        limits.maxFailuresPerClient,
        now,
      ),
    );
    const longest = Math.max(numberLock, ...clientLocks, ...throttles);
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
      deliveries: state.codes.flatMap((c) => c.messages ?? []),
    };
  }

  async refresh(presented: PresentedToken, successor: IssuedToken, limits: SessionLimits): Promise<RefreshResult> {
    return await this.sessionsArmed(this.sessions.refresh(presented, successor, limits));
  }

  async undoRefresh(sessionId: string, successorHash: string): Promise<void> {
    this.sessions.undoRefresh(sessionId, successorHash);
  }

  async logout(sessionId: string, familyHash: string): Promise<string | null> {
    return await this.sessionsArmed(this.sessions.logout(sessionId, familyHash));
  }

  async endAll(caller: string | null): Promise<string[] | null> {
    return await this.sessionsArmed(this.sessions.endAll(caller));
  }

  async endOthers(caller: string): Promise<string[] | null> {
    return await this.sessionsArmed(this.sessions.endOthers(caller));
  }

  async end(sessionId: string, caller: string | null): Promise<"ended" | "not_found" | "caller_ended"> {
    return await this.sessionsArmed(this.sessions.end(sessionId, caller));
  }

  async list(caller: string | null): Promise<SessionInfo[] | null> {
    return this.sessions.list(caller);
  }

  async has(sessionId: string): Promise<boolean> {
    return this.sessions.has(sessionId);
  }

  async count(): Promise<number> {
    return this.sessions.count();
  }

  async adminEndAll(): Promise<string[]> {
    return (await this.sessionsArmed(this.sessions.endAll(null))) ?? [];
  }

  /**
   * Sessions that just expired (pruned by a call, or by the alarm): the
   * Worker's class (src/index.ts) tells the app's backend. Called
   * synchronously, inside the call that pruned them; it must not await.
   */
  protected sessionsExpired(_sessions: readonly { id: string; e164: string }[]): void {}

  async unlock(): Promise<void> {
    const state = this.load(Date.now());
    state.failures = [];
    state.sends = [];
    await this.save(state);
  }

  /**
   * Sends the fallbacks that are due, then deletes what has aged out (and
   * everything once nothing in it can matter any more). Each due plan is
   * taken off its code and written before anything is sent, so a repeat of
   * the alarm never sends it twice; a plan whose code is no longer live, has
   * a delivered message, or has DELIVERY_MAX_MESSAGES messages is dropped.
   * After each send the state is read again, since requests ran meanwhile.
   */
  override async alarm(): Promise<void> {
    // Expired sessions are pruned (and reported); save below arms the alarm for the rest.
    this.sessions.prune();
    const now = Date.now();
    const state = this.load(now);
    const due: { codeId: string; plan: FallbackPlan; channel: Channel }[] = [];
    for (const code of state.codes) {
      const plan = code.fallback;
      if (plan === undefined || (plan.dueAt > now && code.expiresAt > now)) continue;
      delete code.fallback;
      const skip = fallbackSkip(code, plan, now);
      const channel = code.channel ?? "sms";
      if (skip === undefined) due.push({ codeId: code.id, plan, channel });
      else log("otp.fallback_skipped", { reason: skip });
      if (skip === "cap" || skip === "no_route") this.codeUndelivered(code.id, plan.to, channel);
    }
    await this.save(state);
    for (const { codeId, plan, channel } of due) {
      let result: FallbackResult;
      try {
        result = await this.sendFallback(codeId, plan);
      } catch {
        // A bug in the sending: nothing is known to have gone out, and the plan is already dropped.
        log("otp.fallback_skipped", { reason: "no_route" });
        this.codeUndelivered(codeId, plan.to, channel);
        continue;
      }
      await this.save(this.recordFallback(codeId, plan, result));
      if (result.outcome !== "sent") this.codeUndelivered(codeId, plan.to, channel);
    }
  }

  /**
   * Sends the same code through the plan's route (the first gateway that
   * accepts it), taking it from the day's budget: the Worker's class
   * (src/index.ts) does it with the domain's rules. This one has no gateways.
   */
  protected sendFallback(_codeId: string, _plan: FallbackPlan): Promise<FallbackResult> {
    return Promise.resolve({ outcome: "no_route" });
  }

  /**
   * No message of the code was delivered and none will be sent any more (the
   * cap, the route or the budget ran out): the Worker's class (src/index.ts)
   * tells the app's backend. Synchronous; it must not await.
   */
  protected codeUndelivered(_codeId: string, _to: NormalizedPhone, _channel: Channel): void {}

  /** A fallback's outcome on its code, on the state read afresh (one synchronous step; the caller saves it). */
  private recordFallback(codeId: string, plan: FallbackPlan, result: FallbackResult): LimiterState {
    const now = Date.now();
    const state = this.load(now);
    const code = state.codes.find((c) => c.id === codeId);
    if (result.outcome === "sent") {
      const { message } = result;
      if (!state.lastSms || state.lastSms.at <= message.sentAt) {
        state.lastSms = { gateway: message.gateway, channel: message.channel, at: message.sentAt, outcome: "sent" };
      }
      if (code) {
        code.messages = [...(code.messages ?? []), message].slice(-MAX_MESSAGES_PER_CODE);
        delete code.fallbackSkipped;
        const more =
          result.rest.length > 0 &&
          code.messages.length < plan.maxMessages &&
          isLive(code, now, plan.maxAttempts) &&
          !code.messages.some((m) => m.status === "delivered");
        if (more) code.fallback = { ...plan, route: result.rest, dueAt: now + plan.timeoutMs };
      }
    } else if (
      code &&
      (result.outcome === "budget" || result.outcome === "breaker_open" || result.outcome === "fraud_suspected")
    ) {
      code.fallbackSkipped = result.outcome;
    }
    return state;
  }

  private load(now: number): LimiterState {
    const stored = this.ctx.storage.kv.get<Partial<LimiterState>>(STATE_KEY);
    const codes = (stored?.codes ?? []).filter((c) => c.expiresAt > now - HOUR_MS);
    // A held hash is dropped once KV has surely reached every location.
    for (const c of codes) {
      if (c.hashUntil !== undefined && c.hashUntil <= now) {
        delete c.hash;
        delete c.hashUntil;
      }
    }
    return {
      sends: (stored?.sends ?? []).filter((s) => s.at > now - HOUR_MS),
      failures: (stored?.failures ?? []).filter((f) => f.at > now - DAY_MS),
      codes,
      trusted: (stored?.trusted ?? []).filter((t) => t.at > now - TRUSTED_FOR_MS),
      lastSms: stored?.lastSms && stored.lastSms.at > now - LAST_SMS_FOR_MS ? stored.lastSms : null,
    };
  }

  /**
   * Writes the state, or deletes it when empty; the alarm fires when the last
   * entry ages out, or earlier at the first fallback due (or its code's
   * expiry, which drops it). A held hash is dropped by the next write.
   */
  private async save(state: LimiterState): Promise<void> {
    const now = Date.now();
    const tombstonesUntil = this.pruneTombstones(now);
    const entries = state.sends.length + state.failures.length + state.codes.length + state.trusted.length;
    let at: number | null;
    if (entries === 0 && state.lastSms === null) {
      this.ctx.storage.kv.delete(STATE_KEY);
      at = tombstonesUntil;
    } else {
      this.ctx.storage.kv.put(STATE_KEY, state);
      const pruneAt = Math.max(
        (state.sends.at(-1)?.at ?? 0) + HOUR_MS,
        (state.failures.at(-1)?.at ?? 0) + DAY_MS,
        ...state.codes.map((c) => c.expiresAt + HOUR_MS),
        ...state.trusted.map((t) => t.at + TRUSTED_FOR_MS),
        state.lastSms ? state.lastSms.at + LAST_SMS_FOR_MS : 0,
      );
      const fallbacks = state.codes.flatMap((c) => (c.fallback ? [Math.min(c.fallback.dueAt, c.expiresAt)] : []));
      // Tombstones expire before the state does (TOMBSTONE_MS is the shortest horizon), so one alarm serves both.
      at = Math.min(pruneAt, ...fallbacks);
    }
    // The sessions' next expiry or end of a grace window too: one alarm serves the codes and the sessions.
    const next = [at, this.sessions.nextAlarm()].filter((t): t is number => t !== null);
    if (next.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.min(...next));
  }

  /**
   * `result` of a session call, after bringing the alarm forward to the
   * sessions' next event if the call moved it earlier. An alarm that fires
   * early does no harm: it re-arms for what is due (save).
   */
  private async sessionsArmed<T>(result: T): Promise<T> {
    if (!this.sessions.changed) return result;
    const due = this.sessions.nextAlarm();
    const current = await this.ctx.storage.getAlarm();
    if (due !== null && (current === null || current > due)) await this.ctx.storage.setAlarm(due);
    return result;
  }

  /** Remembers an id the Worker gave up after its call passed the deadline, for TOMBSTONE_MS. */
  private tombstone(id: string, now: number): void {
    this.tombstones().exec(
      "INSERT INTO tombstones (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
      id,
      now + TOMBSTONE_MS,
    );
  }

  private isTombstoned(id: string, now: number): boolean {
    return (
      this.tombstones().exec("SELECT 1 FROM tombstones WHERE id = ? AND expires_at > ?", id, now).toArray().length > 0
    );
  }

  /** Deletes tombstones that have expired; answers when the last one left expires, or null when none is. */
  private pruneTombstones(now: number): number | null {
    const sql = this.tombstones();
    sql.exec("DELETE FROM tombstones WHERE expires_at <= ?", now);
    return sql.exec<{ t: number | null }>("SELECT max(expires_at) AS t FROM tombstones").one().t;
  }

  private tombstones(): SqlStorage {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS tombstones (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
    sql.exec("CREATE INDEX IF NOT EXISTS tombstones_expiry ON tombstones (expires_at)");
    return sql;
  }
}

/** How often one code's delivery may be read (/verification-status): a poll every 5 s for its whole life. */
export const STATUS_POLLS_PER_CODE = 60;

/** How long a tombstone stands: longer than any late call can take to arrive (the Worker waits 30 s at most). */
const TOMBSTONE_MS = HOUR_MS;

/** Keyed hashes compared in constant time (their length is public). */
function sameHash(stored: string, guess: string): boolean {
  const a = new TextEncoder().encode(stored);
  const b = new TextEncoder().encode(guess);
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/**
 * Moves a message forward by one report, answering whether it changed:
 * pending → delivered or failed, failed → delivered (a phone can get a
 * message a gateway first reported lost); a delivered message stays
 * delivered, and a repeated report changes nothing.
 */
function advance(message: CodeMessage, report: GatewayReport, now: number): boolean {
  const at = report.at ?? now;
  if (report.status === "delivered") {
    if (message.status === "delivered") return false;
    message.status = "delivered";
    message.deliveredAt = at;
    return true;
  }
  if (message.status !== "pending") return false;
  message.status = "failed";
  message.failedAt = at;
  if (report.reason !== undefined) message.failureReason = report.reason;
  return true;
}

/** Why a due fallback is not sent, or undefined when it is. */
function fallbackSkip(code: CodeRecord, plan: FallbackPlan, now: number): FallbackSkipReason | undefined {
  if (!isLive(code, now, plan.maxAttempts)) return "not_live";
  const messages = code.messages ?? [];
  if (messages.some((m) => m.status === "delivered")) return "delivered";
  if (messages.length >= plan.maxMessages) return "cap";
  if (plan.route.length === 0) return "no_route";
  return undefined;
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
    trusted
      ? 0
      : waitFor(countedFailures(state.failures, limits.maxFailuresPerClient), limits.maxFailuresPerNumber, now),
    waitFor(
      state.failures.filter((f) => !f.shared && f.client === client),
      limits.maxFailuresPerClient,
      now,
    ),
  );
}

/**
 * The failures the number-wide lock counts, oldest first: every failure of
 * a key that stands for one client, and at most the latest `perKey` of each
 * shared key (a carrier's NAT address, an IPv6 /48), so that one device
 * behind a shared key can never fill the ceiling that holds every
 * untrusted client; it takes as many keys as it takes networks.
 */
function countedFailures(failures: LimiterState["failures"], perKey: number): LimiterState["failures"] {
  const seen = new Map<string, number>();
  const kept: LimiterState["failures"] = [];
  for (let i = failures.length - 1; i >= 0; i--) {
    const f = failures[i]!;
    if (f.shared) {
      const n = (seen.get(f.client) ?? 0) + 1;
      seen.set(f.client, n);
      if (n > perKey) continue;
    }
    kept.push(f);
  }
  return kept.reverse();
}

/**
 * Milliseconds a shared key (a carrier's NAT address, an IPv6 /48) waits for
 * a new code for the number, or 0. Never a lock, at most THROTTLE_MAX_MS
 * after the failure that set it:
 * - its own codes' failures, from `maxFailuresPerClient` on (throttleFor);
 * - and, once the number's failures reach `maxFailuresPerNumber` (all of
 *   them, shared ones uncapped: so that guessing through many shared keys
 *   stays bounded), the number-wide wait: one code an hour for all shared
 *   keys together, THROTTLE_MAX_MS after the latest failure or the latest
 *   code sent to a shared key, whichever is later.
 */
function sharedWait(state: LimiterState, client: string, now: number, limits: SendLimits): number {
  const { failures } = state;
  const own = throttleFor(
    failures.filter((f) => f.shared && f.client === client),
    limits.maxFailuresPerClient,
    now,
  );
  if (failures.length < limits.maxFailuresPerNumber) return own;
  const since = Math.max(failures.at(-1)!.at, state.codes.filter((c) => c.shared).at(-1)?.issuedAt ?? 0);
  return Math.max(own, since + THROTTLE_MAX_MS - now);
}

/**
 * Milliseconds a shared client key waits for a new code, or 0: once its own
 * codes have had `threshold` wrong guesses in 24 hours, THROTTLE_FIRST_MS
 * after the latest, doubled for each one beyond, at most THROTTLE_MAX_MS.
 * `failures`: that key's failures at its shared codes, oldest first.
 */
function throttleFor(failures: LimiterState["failures"], threshold: number, now: number): number {
  const beyond = failures.length - threshold;
  if (beyond < 0) return 0;
  const wait = Math.min(THROTTLE_FIRST_MS * 2 ** Math.min(beyond, 30), THROTTLE_MAX_MS);
  return Math.max(0, failures.at(-1)!.at + wait - now);
}

/** Milliseconds until fewer than `max` of these failures are within 24 hours, or 0. */
function waitFor(failures: readonly { at: number }[], max: number, now: number): number {
  return failures.length < max ? 0 : failures[failures.length - max]!.at + DAY_MS - now;
}

/**
 * The Durable Object for one E.164 number. PhoneLimiter implements
 * PhoneLimiterRpc, so the stub's type is tied to the class; the cast only
 * replaces workers-types' generic Rpc mapping, which does not narrow the
 * result unions well. The results are plain data. Every Durable Object
 * client (quotaCounterFor, budgetShardFor, sessionStoreFor, statsCounterFor)
 * sits beside its class like this one, and casts for the same reason.
 */
export function limiterFor(namespace: DurableObjectNamespace<PhoneLimiter>, e164: string): PhoneLimiterRpc {
  return namespace.getByName(e164) as unknown as PhoneLimiterRpc;
}
