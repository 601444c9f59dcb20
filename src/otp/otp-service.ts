import type { Settings } from "../config/settings";
import {
  OtpExpiredError,
  OtpInvalidError,
  OtpNotFoundError,
  RateLimitedError,
  ServiceError,
  SmsFailedError,
  TooManyAttemptsError,
  UnavailableError,
} from "../errors/service-error";
import type { AttemptLimits, NoCheckableCode, SendLimits } from "../limiter/limiter-types";
import { limiterFor, type LimiterStub } from "../limiter/limiter-for";
import type { PhoneLimiter } from "../limiter/phone-limiter";
import type { NormalizedPhone } from "../phone/normalize-phone";
import type { SmsProvider } from "../sms/sms-provider";
import { codeMatches, hashCode } from "./code-hash";
import { deleteCodeHash, getCodeHash, putCodeHash } from "./code-store";
import { generateCode } from "./generate-code";
import { describeWait } from "./describe-wait";

/** What the OTP rules need from the outside world. */
export interface OtpDeps {
  settings: Settings;
  kv: KVNamespace;
  limiters: DurableObjectNamespace<PhoneLimiter>;
  sms: SmsProvider;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  background: (work: Promise<unknown>) => void;
}

const STORAGE_RETRY_AFTER_SECONDS = 5;

/**
 * Issue a code and text it. Order: reserve the send in the number's Durable
 * Object (limits decided there), store the code's hash in KV, then send the
 * SMS. If storing or sending fails, the code is killed in both places, so
 * nothing usable is left behind.
 */
export async function sendOtp(deps: OtpDeps, phone: NormalizedPhone): Promise<{ expiresIn: number; resendAfter: number }> {
  const { otp } = deps.settings;
  const limiter = limiterFor(deps.limiters, phone.e164);
  const limits: SendLimits = {
    ttlMs: otp.ttlSeconds * 1000,
    cooldownMs: otp.resendCooldownSeconds * 1000,
    maxSendsPerHour: otp.maxSendsPerHour,
    maxFailuresPerDay: otp.maxFailuresPerDay,
  };
  const reservation = await fromStorage(() => limiter.reserveSend(limits));
  if (!reservation.ok) {
    const seconds = reservation.retryAfterMs / 1000;
    switch (reservation.reason) {
      case "locked":
        throw lockedError(seconds);
      case "cooldown":
        throw new RateLimitedError(`Wait ${describeWait(seconds)} before requesting another code.`, {
          retryAfter: seconds,
        });
      case "hourly_limit":
        throw new RateLimitedError(
          `This number has had ${otp.maxSendsPerHour} codes in the last hour. Try again in ${describeWait(seconds)}.`,
          { retryAfter: seconds },
        );
    }
  }

  const { codeId } = reservation;
  const code = generateCode(otp.length);
  const kill = () => invalidate(deps, limiter, phone.e164, codeId);
  try {
    const hash = await hashCode(otp.hashSecret, phone.e164, codeId, code);
    await putCodeHash(deps.kv, phone.e164, codeId, hash, otp.ttlSeconds);
  } catch (err) {
    await kill();
    throw storageError(err);
  }
  try {
    await deps.sms.send({ to: phone, code, appName: deps.settings.appName });
  } catch (err) {
    await kill();
    throw err instanceof SmsFailedError
      ? err
      : new SmsFailedError("The SMS could not be sent. Try again shortly.", { cause: err });
  }
  return { expiresIn: otp.ttlSeconds, resendAfter: otp.resendCooldownSeconds };
}

/**
 * Check a guess. The number's Durable Object says which code is current; the
 * hash for exactly that code id is read from KV and compared in constant
 * time; then one atomic call records the guess, and only that call decides.
 */
export async function verifyOtp(deps: OtpDeps, phone: NormalizedPhone, guess: string): Promise<void> {
  const { otp } = deps.settings;
  const limiter = limiterFor(deps.limiters, phone.e164);
  const limits: AttemptLimits = { maxAttempts: otp.maxAttempts, maxFailuresPerDay: otp.maxFailuresPerDay };

  const pending = await fromStorage(() => limiter.pendingCode(limits));
  if (pending.outcome !== "pending") throw noCheckableCodeError(pending);
  const { codeId } = pending;

  const hash = await fromStorage(() => getCodeHash(deps.kv, phone.e164, codeId));
  if (hash === undefined) throw noCheckableCodeError({ outcome: "none" });
  const matched = await codeMatches(otp.hashSecret, phone.e164, codeId, guess, hash);

  const result = await fromStorage(() => limiter.recordAttempt(codeId, matched, limits));
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

/** Storage (KV or Durable Object) failures become 503 unavailable, with the reason kept for the log. */
async function fromStorage<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw storageError(err);
  }
}

function storageError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  return new UnavailableError("Storage is temporarily unavailable. Try again in a few seconds.", {
    cause: err,
    retryAfter: STORAGE_RETRY_AFTER_SECONDS,
  });
}
