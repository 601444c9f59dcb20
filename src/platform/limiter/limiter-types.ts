/**
 * The PhoneLimiter's RPC surface: the class implements PhoneLimiterRpc, and
 * the Worker's stub (limiterFor in phone-limiter.ts) is typed by it, so a change on one side
 * breaks the build of the other. Every id (code ids, attempt ids) is made by
 * the Worker and passed in, so a call that passed its deadline can be
 * identified and undone (see platform/storage-call.ts).
 */

import type { Settings } from "../../kernel/config/settings";
import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";
import type { CreateResult, SessionHostRpc, SessionRequest } from "../sessions/session-types";
import type { Channel } from "../sms/sms-gateway";

/** Limits the Worker passes to its number's PhoneLimiter with each send. */
export interface SendLimits {
  ttlMs: number;
  /** Between two sends to the number that one client asked for. */
  cooldownMs: number;
  /** Sends to the number per client in any rolling hour. */
  maxSendsPerHour: number;
  /** Sends to the number from all clients in any rolling hour: the ceiling that bounds SMS to one phone. */
  maxSendsPerNumberPerHour: number;
  /** Wrong guesses in 24 h at codes one client asked for, after which that client gets no new code for the number. */
  maxFailuresPerClient: number;
  /** Wrong guesses in 24 h at all the number's codes, after which nobody gets a new code for it. */
  maxFailuresPerNumber: number;
}

/** The SendLimits of the settings (OTP_TTL_SECONDS, OTP_RESEND_COOLDOWN_SECONDS, the OTP_MAX_* limits of a number). */
export function sendLimitsFrom({ otp }: Pick<Settings, "otp">): SendLimits {
  return {
    ttlMs: otp.ttlSeconds * 1000,
    cooldownMs: otp.resendCooldownSeconds * 1000,
    maxSendsPerHour: otp.maxSendsPerHour,
    maxSendsPerNumberPerHour: otp.maxSendsPerNumberPerHour,
    maxFailuresPerClient: otp.maxFailuresPerClientPerDay,
    maxFailuresPerNumber: otp.maxFailuresPerNumberPerDay,
  };
}

export interface SendRequest {
  /** The new code's id, which is also its public `verification_id`. */
  codeId: string;
  /** The requesting client's key (guards/client-address.ts, numberClientKey); wrong guesses at this code count against it. */
  client: string;
  /**
   * The client key may stand for many people (a carrier's NAT address, an
   * IPv6 /48): wrong guesses at its codes slow that client's new codes down
   * instead of locking it out (they still count toward the number-wide ceiling).
   */
  shared: boolean;
  /**
   * The key a sign-in from this client is remembered under for the "signed
   * in here before" trust (the IPv4 address, the IPv6 /64), or null for an
   * address that stands for many people (a carrier's NAT), which earns none.
   */
  trustKey: string | null;
  /**
   * The code's keyed hash, as written to KV. The object holds it until KV
   * has surely reached every location (HASH_HELD_MS), so a verify that lands
   * where the KV write has not arrived yet still finds the code.
   */
  hash: string;
  /** The channel the code was asked for on (sms when absent). */
  channel?: Channel;
  limits: SendLimits;
}

/** Why a send was refused; retryAfterMs says when it can succeed. */
export type SendRefusal =
  | { outcome: "locked"; retryAfterMs: number }
  /** Wrong guesses from shared addresses (carrier NAT): a growing wait for new codes to shared clients, at most an hour. */
  | { outcome: "throttled"; retryAfterMs: number }
  | { outcome: "cooldown"; retryAfterMs: number }
  | { outcome: "hourly_limit"; retryAfterMs: number }
  | { outcome: "number_limit"; retryAfterMs: number }
  /** The Worker gave this code id up (it answered 503) before this call arrived: nothing was done. */
  | { outcome: "cancelled" };

export type SendReservation = { outcome: "reserved"; expiresAt: number } | SendRefusal;

export interface AttemptRequest {
  codeId: string;
  /** Made by the Worker, so a late-committed attempt can be undone (undoAttempt). */
  attemptId: string;
  /**
   * The guess: `guessHash`, the keyed hash of the guess, which the object
   * compares in constant time with the hash it holds for a young code
   * (HASH_HELD_MS; an older one answers `hash_not_held`); or `matched`, the
   * Worker's constant-time comparison against the hash it read from KV.
   */
  check: { matched: boolean } | { guessHash: string };
  maxAttempts: number;
  /**
   * Whose failure a wrong guess is: by default the client that asked for the
   * code (only it holds the id). A guess that named no id (the
   * OTP_REQUIRE_VERIFICATION_ID=false mode) is charged to the guesser.
   */
  chargeTo?: { client: string; shared: boolean };
  /**
   * The session a right guess starts, in the same step that uses the code
   * up (the number's sessions live in its PhoneLimiter): one call signs in.
   */
  session?: SessionRequest;
}

/**
 * Whether an undo's call passed its deadline (it may still arrive and
 * commit): only then is a tombstone left, so that late call does nothing.
 * An undo of a call that answered in time leaves nothing behind.
 */
export interface UndoOptions {
  late: boolean;
}

/** An attempt's undo: also the session its right guess started (ended, and what it evicted put back). */
export interface AttemptUndoOptions extends UndoOptions {
  sessionId?: string;
}

/**
 * The result of one guess, decided atomically inside the object. `not_live`
 * covers every code that cannot be guessed at (never issued, used, expired,
 * out of tries), and the caller answers it with one and the same error.
 */
export type AttemptOutcome =
  /** `session`: the session the request asked for, started. */
  | { outcome: "verified"; session?: CreateResult }
  | { outcome: "wrong"; attemptsLeft: number }
  | { outcome: "not_live" }
  /** The code is live but older than HASH_HELD_MS, so the object no longer holds its hash: nothing was counted; check it against KV. */
  | { outcome: "hash_not_held" };

/**
 * What became of one code, for the fraud guard: `verified`, or not, with
 * `liveUntil`: its expiry while it may still be verified (unused, unexpired,
 * tries left), null when it never can be (expired, out of tries, or unknown
 * here: never reserved, given back, killed).
 */
export type CodeUse =
  | { codeId: string; verified: true }
  | { codeId: string; verified: false; liveUntil: number | null };

/** The outcome of the number's last SMS or call, for the operator (never the code or the gateway's text). */
export interface LastSms {
  /** The gateway that accepted it, or the gateways tried when none did. */
  gateway: string;
  channel: Channel;
  at: number;
  outcome: "sent" | "failed" | "unknown";
}

/** Where a message of a code stands: only ever forward, pending → delivered or failed, and failed → delivered. */
export type MessageStatus = "pending" | "delivered" | "failed";

/** One message that carried a code (an SMS or a call a gateway accepted), kept on the code as long as the code is. */
export interface CodeMessage {
  channel: Channel;
  gateway: string;
  /** The gateway's own id of the message, which its delivery reports name; null when its answer had none. */
  gatewayMessageId: string | null;
  status: MessageStatus;
  sentAt: number;
  deliveredAt?: number;
  failedAt?: number;
  /** On a failure, the gateway's reason as reported (vendor text, cleaned by the report parser): for the operator only. */
  failureReason?: string;
}

/** A message to record on its code with the number's last SMS (recordDelivery). */
export interface SentMessage {
  codeId: string;
  message: CodeMessage;
  /** The rest of the message's route, when it is followed and gateways are left (fallback.ts). */
  fallback?: FallbackPlan;
}

/** One step of a fallback's route: a gateway and the channel it sends on. */
export interface FallbackStep {
  gateway: string;
  channel: Channel;
}

/**
 * What the number's object keeps on a code while a fallback may still be
 * needed: where the same code goes next if its latest message is not
 * delivered by `dueAt`, the code sealed (never in clear), and the send's
 * settings the fallback is decided with.
 */
export interface FallbackPlan {
  /** The number: the fallback's recipient, and part of the sealed code's additional data. */
  to: NormalizedPhone;
  /** The gateways still to try, in order (each failure goes on to the next at once). */
  route: FallbackStep[];
  /** When the fallback is due (ms since the epoch); a failed report brings it forward to now. */
  dueAt: number;
  /** The code, AES-256-GCM sealed (domain/otp/sealed-code.ts). */
  sealedCode: string;
  /** DELIVERY_TIMEOUT_SECONDS, in ms: the next deadline after a fallback that leaves route. */
  timeoutMs: number;
  /** DELIVERY_MAX_MESSAGES: no fallback once the code has this many accepted messages. */
  maxMessages: number;
  /** OTP_MAX_ATTEMPTS: a code out of tries is not live. */
  maxAttempts: number;
  /**
   * false when the code's send did not count against its number's range (a
   * caller's code, such as Supabase's hook, whose verify this service never
   * sees; or a number the fraud guard left alone): its fallbacks do not either.
   */
  inRange?: false;
  /** The day's budget a fallback takes from (SMS_DAILY_BUDGET and the budget group), as at the send. */
  budget: {
    daily: number;
    shards: number;
    hourlyPercent: number;
    retrySpreadSeconds: number;
    locationHint?: DurableObjectLocationHint | undefined;
  };
}

/** Why a due fallback did not go out (otp.fallback_skipped). */
export type FallbackSkipReason =
  | "breaker_open"
  | "budget"
  | "cap"
  | "delivered"
  | "fraud_suspected"
  | "not_live"
  | "no_route";

/**
 * What a due fallback did (PhoneLimiter's sendFallback hook): `sent` through
 * one gateway of the route (`rest`: the steps not tried), else why not: the
 * budget refused it, every gateway left had its circuit breaker open
 * (`breaker_open`: none was called), the number's range is blocked or at its
 * threshold (`fraud_suspected`: the fraud guard), or every gateway of the
 * route failed (`no_route`).
 */
export type FallbackResult =
  | { outcome: "sent"; message: CodeMessage; rest: FallbackStep[] }
  | { outcome: "budget" }
  | { outcome: "breaker_open" }
  | { outcome: "fraud_suspected" }
  | { outcome: "no_route" };

/** One delivery report for this number, as a gateway's webhook (or the console gateway) gave it. */
export interface GatewayReport {
  /** The gateway that sent it: a report matches only that gateway's messages. */
  gateway: string;
  messageId: string;
  status: "delivered" | "failed";
  reason?: string;
  /** When the gateway says it happened (ms since the epoch); the time it arrived when absent. */
  at?: number;
}

/**
 * What one report did: `applied` moved its message forward (AppliedReport says
 * how); `unchanged` found it but changed nothing (a duplicate, or a failure
 * after a delivery); `unknown` matched no message of this number's codes.
 */
export type ReportOutcome = AppliedReport | "unchanged" | "unknown";

/** A report that moved its message: what the day's delivery figures need of it (never an id or the number). */
export interface AppliedReport {
  outcome: "applied";
  /** What the message is now. */
  status: "delivered" | "failed";
  /** A delivery that came after a failure was reported (the message moves from failed to delivered). */
  wasFailed: boolean;
  channel: Channel;
  gateway: string;
  sentAt: number;
  /** When it was delivered or failed (the report's time, else its arrival). */
  at: number;
  /** The code the message carried (its verification_id): for the app's events, never for the figures. */
  codeId: string;
  /** Whether another message of the code is on its way or delivered, or a fallback is due: a failure then is not the last word. */
  stillTrying: boolean;
}

/** A live code's delivery, for /verification-status. */
export interface CodeDelivery {
  issuedAt: number;
  expiresAt: number;
  /** The channel the code was asked for on. */
  channel: Channel;
  /** Oldest first. */
  messages: CodeMessage[];
}

/** What the operator may see of a number (GET /admin/numbers/{phone}): counts and times, never an id or a hash. */
export interface NumberInspection {
  sendsLastHour: number;
  failuresLastDay: number;
  /** When the last lock on new codes ends (the number-wide one, or any client network's), or null. */
  lockedUntil: number | null;
  /** Whether the number-wide lock holds (OTP_MAX_FAILURES_PER_NUMBER_PER_DAY): every client but trusted ones is refused. */
  numberLocked: boolean;
  /** Client networks locked out of new codes for this number by their own wrong guesses (OTP_MAX_FAILURES_PER_DAY). */
  clientsLocked: number;
  /** The newest live code's expiry and tries left, or null. */
  liveCode: { expiresAt: number; attemptsLeft: number } | null;
  lastSms: LastSms | null;
  /** Every message of the number's recent codes, oldest first. */
  deliveries: CodeMessage[];
}

/** The limits an inspection is read against. */
export interface InspectLimits {
  maxAttempts: number;
  maxFailuresPerClient: number;
  maxFailuresPerNumber: number;
}

/** The InspectLimits of the settings: a number's tries per code and its wrong guesses per day. */
export function inspectLimitsFrom({ otp }: Pick<Settings, "otp">): InspectLimits {
  return {
    maxAttempts: otp.maxAttempts,
    maxFailuresPerClient: otp.maxFailuresPerClientPerDay,
    maxFailuresPerNumber: otp.maxFailuresPerNumberPerDay,
  };
}

export interface PhoneLimiterRpc extends SessionHostRpc {
  reserveSend(request: SendRequest): Promise<SendReservation>;
  /**
   * Undo a reservation whose request was refused or failed before any SMS
   * went out: nothing stays counted. With `late`, it also leaves a
   * tombstone, so a reserveSend with this id that arrives later does nothing.
   */
  releaseSend(codeId: string, options: UndoOptions): Promise<void>;
  /** Kill a code whose SMS may or may not have gone out (gateway timeout): its send stays counted. */
  cancelCode(codeId: string): Promise<void>;
  /** The newest live code's id: only for OTP_REQUIRE_VERIFICATION_ID=false. */
  newestLiveCode(maxAttempts: number): Promise<string | null>;
  recordAttempt(request: AttemptRequest): Promise<AttemptOutcome>;
  /**
   * Undo an attempt whose answer the client never got (a 503): the code and
   * counts are as before it. With `late`, it leaves a tombstone, so a
   * recordAttempt with this id that arrives later does nothing.
   */
  undoAttempt(codeId: string, attemptId: string, options: AttemptUndoOptions): Promise<void>;
  /**
   * Remember how the number's last SMS or call went (after the response),
   * and the message that carried the code, on the code, as `pending`.
   * Repeating it changes nothing.
   */
  recordDelivery(last: LastSms, sent?: SentMessage): Promise<void>;
  /**
   * Delivery reports for this number's messages, matched by gateway and
   * message id, in one step: each moves its message forward only (a
   * delivery wins over a failure, a duplicate changes nothing). A report never
   * touches a code's tries or use. Answers what each report did, in order.
   */
  recordReports(reports: readonly GatewayReport[]): Promise<ReportOutcome[]>;
  /** A live code's channel, messages and expiry; null for every other id (unknown, used, expired, out of tries). */
  /**
   * A live code's messages for /verification-status, counted against the
   * code's STATUS_POLLS_PER_CODE reads (a refused read writes nothing): null
   * for no live code, `refused` past them.
   */
  codeDelivery(codeId: string, maxAttempts: number): Promise<CodeDelivery | { refused: number } | null>;
  /**
   * The fraud guard's lookup, read-only: what became of these codes (the
   * range's entries at its threshold; a verify no longer tells the range).
   * Codes are kept TTL + 1 hour, longer than a range counts a send (1 hour).
   */
  codeUses(codeIds: readonly string[], maxAttempts: number): Promise<CodeUse[]>;
  /** Operator: the number's state, read-only. */
  inspect(limits: InspectLimits): Promise<NumberInspection>;
  /**
   * Operator: forget the number's wrong guesses (so no lock holds) and its
   * sends (so no cooldown or hourly limit holds). Live codes, sign-in trust
   * and tombstones stay.
   */
  unlock(): Promise<void>;
}
