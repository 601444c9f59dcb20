import type { Settings } from "../config/settings";
import {
  OtpExpiredError,
  OtpInvalidError,
  OtpNotFoundError,
  RateLimitedError,
  ServiceError,
  SmsFailedError,
  TooManyAttemptsError,
} from "../errors/service-error";
import { clientKey } from "../guards/client-address";
import { takeClientQuota, takeSmsBudget, type Release } from "../guards/send-quotas";
import { verifyTurnstile } from "../guards/verify-turnstile";
import type { AttemptLimits, NoCheckableCode, Refusal, SendLimits } from "../limiter/limiter-types";
import type { QuotaCounter } from "../limiter/quota-counter";
import { limiterFor, type LimiterStub } from "../limiter/limiter-for";
import type { PhoneLimiter } from "../limiter/phone-limiter";
import type { NormalizedPhone } from "../phone/normalize-phone";
import type { SmsProvider } from "../sms/sms-provider";
import { codeMatches, hashCode } from "./code-hash";
import { deleteCodeHash, getCodeHash, putCodeHash } from "./code-store";
import { generateCode } from "./generate-code";
import { describeWait } from "./describe-wait";
import { asUnavailable, storageCall } from "./storage-call";

/** What the OTP rules need from the outside world. */
export interface OtpDeps {
  settings: Settings;
  kv: KVNamespace;
  limiters: DurableObjectNamespace<PhoneLimiter>;
  quotas: DurableObjectNamespace<QuotaCounter>;
  sms: SmsProvider;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  background: (work: Promise<unknown>) => void;
}

/** Who asked for a code: the client's address (CF-Connecting-IP) and its Turnstile token, if any. */
export interface SendContext {
  clientAddress: string | undefined;
  turnstileToken: string | undefined;
}

/**
 * Issue a code and text it. The checks run cheapest first, and each one that
 * takes something (a send slot for the number, the client's hourly quota, the
 * day's SMS budget) gives it back if a later check refuses the request, so a
 * refused request spends nothing and no SMS goes out:
 *
 *   bot check → number's limits (Durable Object) → client quota → SMS budget
 *   → store the code's hash in KV → send the SMS.
 *
 * If the SMS fails, the code is killed in both the Durable Object and KV; the
 * send still counts toward the number's limits (README, "Failed sends count").
 * Test numbers (TEST_PHONE_NUMBERS) get their fixed code, no SMS and no budget.
 */
export async function sendOtp(
  deps: OtpDeps,
  phone: NormalizedPhone,
  context: SendContext,
): Promise<{ expiresIn: number; resendAfter: number }> {
  const { settings } = deps;
  const { otp } = settings;
  const storage = <T>(op: () => Promise<T>) => storageCall(settings.storageTimeoutMs, op);
  if (settings.turnstile) await verifyTurnstile(settings.turnstile, context.turnstileToken, context.clientAddress);

  const testCode = settings.testNumbers.get(phone.e164);
  const limiter = limiterFor(deps.limiters, phone.e164);
  const limits: SendLimits = {
    ttlMs: otp.ttlSeconds * 1000,
    cooldownMs: otp.resendCooldownSeconds * 1000,
    maxSendsPerHour: otp.maxSendsPerHour,
    maxFailuresPerDay: otp.maxFailuresPerDay,
  };

  const takenBack: Release[] = [];
  let codeId: string;
  let code: string;
  try {
    const reservation = await storage(() => limiter.reserveSend(limits));
    if (!reservation.ok) throw sendRefusal(reservation, otp.maxSendsPerHour);
    codeId = reservation.codeId;
    takenBack.push(() => limiter.releaseSend(codeId));
    takenBack.push(
      await storage(() => takeClientQuota(deps.quotas, clientKey(context.clientAddress), otp.maxSendsPerIpPerHour)),
    );
    if (testCode === undefined) takenBack.push(await storage(() => takeSmsBudget(deps.quotas, settings.smsDailyBudget)));

    code = testCode ?? generateCode(otp.length);
    const hash = await hashCode(otp.hashSecret, phone.e164, codeId, code);
    takenBack.push(() => deleteCodeHash(deps.kv, phone.e164, codeId));
    await storage(() => putCodeHash(deps.kv, phone.e164, codeId, hash, otp.ttlSeconds));
  } catch (err) {
    await giveBack(takenBack);
    throw asUnavailable(err);
  }

  if (testCode === undefined) {
    try {
      await deps.sms.send({ to: phone, code, appName: settings.appName });
    } catch (err) {
      await invalidate(deps, limiter, phone.e164, codeId);
      throw err instanceof SmsFailedError
        ? err
        : new SmsFailedError("The SMS could not be sent. Try again shortly.", { cause: err });
    }
  }
  return { expiresIn: otp.ttlSeconds, resendAfter: otp.resendCooldownSeconds };
}

function sendRefusal(refusal: Refusal, maxSendsPerHour: number): ServiceError {
  const seconds = refusal.retryAfterMs / 1000;
  switch (refusal.reason) {
    case "locked":
      return lockedError(seconds);
    case "cooldown":
      return new RateLimitedError(`Wait ${describeWait(seconds)} before requesting another code.`, {
        retryAfter: seconds,
      });
    case "hourly_limit":
      return new RateLimitedError(
        `This number has had ${maxSendsPerHour} codes in the last hour. Try again in ${describeWait(seconds)}.`,
        { retryAfter: seconds },
      );
  }
}

/** Gives back, newest first, whatever a refused request took. Best effort: each step is independent. */
async function giveBack(takenBack: Release[]): Promise<void> {
  const results = await Promise.allSettled(takenBack.reverse().map((release) => release()));
  if (results.some((r) => r.status === "rejected")) {
    console.error(JSON.stringify({ event: "otp.give_back_failed", failed: results.filter((r) => r.status === "rejected").length }));
  }
}

/**
 * Check a guess. The number's Durable Object says which code is current; the
 * hash for exactly that code id is read from KV and compared in constant
 * time; then one atomic call records the guess, and only that call decides.
 */
export async function verifyOtp(deps: OtpDeps, phone: NormalizedPhone, guess: string): Promise<void> {
  const { otp } = deps.settings;
  const storage = <T>(op: () => Promise<T>) => storageCall(deps.settings.storageTimeoutMs, op);
  const limiter = limiterFor(deps.limiters, phone.e164);
  const limits: AttemptLimits = { maxAttempts: otp.maxAttempts, maxFailuresPerDay: otp.maxFailuresPerDay };

  const pending = await storage(() => limiter.pendingCode(limits));
  if (pending.outcome !== "pending") throw noCheckableCodeError(pending);
  const { codeId } = pending;

  const hash = await storage(() => getCodeHash(deps.kv, phone.e164, codeId));
  if (hash === undefined) throw noCheckableCodeError({ outcome: "none" });
  const matched = await codeMatches(otp.hashSecret, phone.e164, codeId, guess, hash);

  const result = await storage(() => limiter.recordAttempt(codeId, matched, limits));
  switch (result.outcome) {
    case "verified":
      deps.background(deleteCodeHash(deps.kv, phone.e164, codeId).catch(() => undefined));
      return;
    case "wrong":
      throw new OtpInvalidError(result.attemptsLeft);
    default:
      throw noCheckableCodeError(result);
  }
}

function noCheckableCodeError(state: NoCheckableCode): ServiceError {
  switch (state.outcome) {
    case "none":
      return new OtpNotFoundError("No code is waiting for this number. Request a new code first.");
    case "expired":
      return new OtpExpiredError("This code has expired. Request a new code.");
    case "exhausted":
      return new TooManyAttemptsError("This code has no tries left. Request a new code.");
    case "locked":
      return lockedError(state.retryAfterMs / 1000);
  }
}

function lockedError(seconds: number): TooManyAttemptsError {
  return new TooManyAttemptsError(
    `Too many wrong codes for this number. Try again in ${describeWait(seconds)}.`,
    { retryAfter: seconds },
  );
}

/** Kill a code in the Durable Object (authoritative) and in KV; either one alone suffices. */
async function invalidate(
  deps: OtpDeps,
  limiter: LimiterStub,
  e164: string,
  codeId: string,
): Promise<void> {
  const results = await Promise.allSettled([limiter.cancelCode(codeId), deleteCodeHash(deps.kv, e164, codeId)]);
  if (results.every((r) => r.status === "rejected")) {
    console.error(JSON.stringify({ event: "otp.invalidate_failed", code_id: codeId }));
  }
}
