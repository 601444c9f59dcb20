import type { Settings } from "../../kernel/config/settings";
import { describeWait } from "../../kernel/describe-wait";
import {
  ChannelNotAvailableError,
  OtpInvalidError,
  OtpNotFoundError,
  RateLimitedError,
  type ServiceError,
  SmsFailedError,
  type SmsFailure,
  TooManyAttemptsError,
  UnavailableError,
} from "../../kernel/errors/service-error";
import { maskPhone } from "../../kernel/phone/mask-phone";
import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";
import { deleteCodeHash, getCodeHash, putCodeHash } from "../../platform/kv/code-store";
import type { BudgetShard } from "../../platform/limiter/budget-shard";
import type { PhoneLimiterRpc, SendLimits, SendRefusal } from "../../platform/limiter/limiter-types";
import type { PhoneLimiter } from "../../platform/limiter/phone-limiter";
import { limiterFor } from "../../platform/limiter/phone-limiter";
import type { QuotaCounter } from "../../platform/limiter/quota-counter";
import type { Channel, SmsGateway } from "../../platform/sms/sms-gateway";
import { asUnavailable, type StorageCallOptions, storageCall, type Undo } from "../../platform/storage-call";
import { numberClientKey } from "../guards/client-address";
import {
  type ClientLimits,
  clientQuotas,
  clientRequests,
  type QuotaHold,
  smsBudget,
  smsBudgetProbe,
  VOICE_BUDGET_UNITS,
} from "../guards/send-quotas";
import { verifyQuota } from "../guards/verify-quotas";
import { verifyTurnstile } from "../guards/verify-turnstile";
import { type FailureReason, type OtpEvent, recordOtpEvent, type StatsDeps } from "../stats/otp-events";
import { codeMatches, hashCode } from "./code-hash";
import { generateCode } from "./generate-code";
import { isVerificationId, newVerificationId } from "./verification-id";

/** What the OTP rules need from the outside world; StatsDeps: where its events are counted (after the response). */
export interface OtpDeps extends StatsDeps {
  settings: Settings;
  kv: KVNamespace;
  limiters: DurableObjectNamespace<PhoneLimiter>;
  quotas: DurableObjectNamespace<QuotaCounter>;
  /** The day's SMS budget and each network's hourly sends, sharded (budget-shard.ts). */
  budgets: DurableObjectNamespace<BudgetShard>;
  sms: SmsGateway;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  background: (work: Promise<unknown>) => void;
}

/** Who asked for a code: the client's address (CF-Connecting-IP) and its Turnstile token, if any. */
export interface SendContext {
  clientAddress: string | undefined;
  /** The client's network (Cloudflare's request.cf.asn); undefined when unknown or sent through a trusted proxy. */
  asn?: number | undefined;
  turnstileToken: string | undefined;
  /** `sms` (default) or `voice`: a call that speaks the code, through the first gateway that can call. */
  channel?: Channel;
}

/** Who checks a code: the client's address (CF-Connecting-IP) and network (request.cf.asn), if known. */
export interface VerifyContext {
  address: string | undefined;
  asn?: number | undefined;
}

export interface VerifiedCode {
  /** Undo the right guess, so the same code verifies again: for when the sign-in cannot be completed. */
  giveBack(): Promise<void>;
}

export interface SentCode {
  verificationId: string;
  expiresIn: number;
  resendAfter: number;
}

/**
 * Issue a new code and text it. A send never touches the codes the number
 * already has: each code is live on its own, under its own verification_id,
 * until it is used, expires or runs out of tries. So a send that is refused
 * or fails at any step costs the owner of an earlier code nothing.
 *
 * Storage round trips before the SMS, at most 3: (1) the client's own
 * quotas (its address and IPv6 prefixes, and its hourly requests); (2) the counters shared with other
 * clients (its network's, the day's budget) and the number's limits, which
 * make the code live, concurrently; (3) the code's hash to KV. Shared
 * counters and the number are touched only once the client's own limits let
 * the request through, so a stranger whose requests are refused never holds
 * the number's cooldown or a unit of the budget, not even for the moment
 * before a refused hold is given back, and a refusal never says anything
 * about the number unless the request could have sent an SMS.
 * Whatever was taken is given back when any step refuses or fails, and a
 * storage call that passes its deadline is undone if it commits late; but a
 * request that got as far as the number costs its client one of its hourly
 * requests (OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR) whatever its outcome,
 * given back only when the service itself failed (503), so a client whose
 * requests the number refuses gets no unlimited free work.
 *
 * The SMS: when the gateway refused or failed cleanly (nothing went out),
 * everything is given back and the code is dropped. When the outcome is
 * unknown (timeout, lost connection) the message may arrive and may have been
 * billed: the code is killed (a late SMS carries a dead code) but the send
 * stays counted against every limit and the budget.
 *
 * Test numbers (TEST_PHONE_NUMBERS) get their fixed code, no SMS and no
 * budget; but while the budget refuses they are refused like every other
 * number (the budget is probed, nothing taken), so a scan cannot find them.
 *
 * A voice call obeys every limit an SMS does and takes VOICE_BUDGET_UNITS of
 * the day's budget; with no gateway that can call, it is refused before
 * anything is taken. However many gateways the send tries (failover), it is
 * one send for every limit and the budget.
 */
export async function sendOtp(deps: OtpDeps, phone: NormalizedPhone, context: SendContext): Promise<SentCode> {
  const { settings } = deps;
  const { otp } = settings;
  const options: StorageCallOptions = { timeoutMs: settings.storageTimeoutMs, background: deps.background };
  const channel = context.channel ?? "sms";
  if (!deps.sms.channels.includes(channel)) {
    throw new ChannelNotAvailableError(
      channel === "voice"
        ? "This service cannot call numbers. Ask for the code by SMS."
        : `This service cannot deliver codes by ${channel}.`,
    );
  }
  if (settings.turnstile) await verifyTurnstile(settings.turnstile, context.turnstileToken, context.clientAddress);

  const testCode = settings.testNumbers.get(phone.e164);
  const client = numberClientKey(context.clientAddress);
  const shared = isCarrier(settings, context.asn);
  const limiter = limiterFor(deps.limiters, phone.e164);
  const codeId = newVerificationId();
  // Made before the number's object is called: it holds the hash until KV has reached every location.
  const code = testCode ?? generateCode(otp.length);
  const hash = await hashCode(otp.hashSecret, phone.e164, codeId, code);
  // Made here and passed in, so a call that answers too late can be undone by it.
  const limits: SendLimits = {
    ttlMs: otp.ttlSeconds * 1000,
    cooldownMs: otp.resendCooldownSeconds * 1000,
    maxSendsPerHour: otp.maxSendsPerHour,
    maxSendsPerNumberPerHour: otp.maxSendsPerNumberPerHour,
    maxFailuresPerClient: otp.maxFailuresPerClientPerDay,
    maxFailuresPerNumber: otp.maxFailuresPerNumberPerDay,
  };

  // Only a call that passed its deadline leaves a tombstone; a reservation that answered in time is simply undone.
  const releaseLateSend: Undo = () => limiter.releaseSend(codeId, { late: true });
  const releaseSend: Undo = () => limiter.releaseSend(codeId, { late: false });
  const { clients, budget } = settings;
  const sender = { address: context.clientAddress, asn: context.asn };
  const clientLimits: ClientLimits = {
    requestsPerIp: otp.maxSendRequestsPerIpPerHour,
    perIp: otp.maxSendsPerIpPerHour,
    per56: clients.maxSendsPer56PerHour,
    per48: clients.maxSendsPer48PerHour,
    perCarrierIp: clients.maxSendsPerCarrierIpPerHour,
    carrierAsns: clients.carrierAsns,
    perAsn: clients.maxSendsPerAsnPerHour,
  };
  const quotas: QuotaHold[] = clientQuotas(deps.quotas, deps.budgets, sender, clientLimits, budget);
  const budgetUnits = channel === "voice" ? VOICE_BUDGET_UNITS : 1;
  const plan = { ...budget, daily: settings.smsDailyBudget };
  // A test number spends no budget, but is refused by a spent budget like any other number.
  quotas.push(
    testCode === undefined
      ? smsBudget(deps.budgets, plan, Date.now(), budgetUnits)
      : smsBudgetProbe(deps.budgets, plan, Date.now(), budgetUnits),
  );
  // One of the client's hourly requests: kept whatever the number, the budget or the gateway answered.
  const request = clientRequests(deps.quotas, sender, clientLimits);
  let reserved = false;
  /**
   * Gives back what the request took: the number's reservation only if it was made (a number that
   * refused took nothing, and keeps no trace of the request); its request only when the service
   * itself failed (503).
   */
  const giveBackAll = (failure: ServiceError) =>
    giveBack(deps, [
      ...(reserved ? [releaseSend] : []),
      ...quotas.map((q) => () => q.release()),
      ...(failure instanceof UnavailableError ? [() => request.release()] : []),
    ]);

  const take = (q: QuotaHold) =>
    storageCall(
      options,
      () => q.take(),
      () => q.release(),
    );
  // Round trip 1: the client's own holds (its address and prefixes, its requests). Each undo is safe
  // whatever its take did. A request refused here never reaches the number: it costs no request.
  const own = [request, ...quotas.filter((q) => !q.shared)];
  const taken = await Promise.allSettled(own.map(take));
  const quotaRefusal = firstRefusal(taken);
  if (quotaRefusal) {
    recordRefusal(deps, phone, quotaRefusal);
    await giveBack(
      deps,
      [request, ...quotas].map((q) => () => q.release()),
    );
    throw quotaRefusal;
  }

  // Round trip 2: the counters shared with other clients (the network's, the day's budget) and the
  // number's limits, at once; the new code is live from here. Only requests their own limits let
  // through get this far, so a flood of refused requests never holds any of these.
  const reservations = await Promise.allSettled([
    ...quotas.filter((q) => q.shared).map(take),
    storageCall(options, () => limiter.reserveSend({ codeId, client, shared, hash, limits }), releaseLateSend).then(
      (r) => {
        if (r.outcome !== "reserved") return sendRefusal(r, otp.maxSendsPerHour);
        reserved = true;
        return undefined;
      },
    ),
  ]);
  const numberRefusal = firstRefusal(reservations);
  if (numberRefusal) {
    recordRefusal(deps, phone, numberRefusal);
    await giveBackAll(numberRefusal);
    throw numberRefusal;
  }

  // Round trip 3: the code's keyed hash, under a key of its own.
  const dropHash: Undo = () => deleteCodeHash(deps.kv, phone.e164, codeId);
  try {
    await storageCall(options, () => putCodeHash(deps.kv, phone.e164, codeId, hash, otp.ttlSeconds), dropHash);
  } catch (err) {
    const failure = asUnavailable(err);
    await giveBackAll(failure);
    throw failure;
  }

  const units = testCode === undefined ? (channel === "voice" ? VOICE_BUDGET_UNITS : 1) : 0;
  if (testCode === undefined) {
    try {
      const delivered = await deps.sms.send({
        to: phone,
        code,
        channel,
        appName: settings.appName,
        autofill: settings.autofill,
      });
      const gateway = delivered ? delivered.gateway : deps.sms.name;
      recordDelivery(deps, phone, limiter, {
        kind: "sent",
        channel,
        gateway,
        test: false,
        budgetUnits: units,
        failedOver: delivered ? delivered.failedOverFrom : [],
      });
    } catch (err) {
      const failure =
        err instanceof SmsFailedError
          ? err
          : new SmsFailedError({
              gateway: deps.sms.name,
              delivery: "unknown",
              retryable: true,
              reason: describe(err),
            });
      console.error(
        JSON.stringify({
          event: "sms.failed",
          to: maskPhone(phone.e164),
          provider: failure.failure.gateway,
          delivery: failure.failure.delivery,
          http_status: failure.failure.httpStatus,
          provider_code: failure.failure.gatewayCode,
          reason: failure.failure.reason,
          ...(failure.failure.attempts ? { attempts: failure.failure.attempts.map(attemptForLog) } : {}),
        }),
      );
      const f = failure.failure;
      recordDelivery(deps, phone, limiter, {
        kind: "send_failed",
        channel,
        reason: f.numberRefused ? "number_refused" : f.delivery === "unknown" ? "sms_no_answer" : "sms_refused",
        gateways: (f.attempts ?? [f]).map((a) => a.gateway),
        budgetUnits: f.delivery === "unknown" ? units : 0,
      });
      if (failure.failure.delivery === "not_sent") await giveBackAll(failure);
      else await giveBack(deps, [() => limiter.cancelCode(codeId)]);
      deps.background(dropHash().catch(() => undefined));
      throw failure;
    }
  }
  if (testCode !== undefined) {
    recordOtpEvent(deps, phone, {
      kind: "sent",
      channel,
      gateway: "test_number",
      test: true,
      budgetUnits: 0,
      failedOver: [],
    });
  }
  return { verificationId: codeId, expiresIn: otp.ttlSeconds, resendAfter: otp.resendCooldownSeconds };
}

/** Counts a delivery (or its failure) and remembers it as the number's last SMS, both after the response. */
function recordDelivery(
  deps: OtpDeps,
  phone: NormalizedPhone,
  limiter: PhoneLimiterRpc,
  event: Extract<OtpEvent, { kind: "sent" | "send_failed" }>,
): void {
  recordOtpEvent(deps, phone, event);
  const outcome = event.kind === "sent" ? "sent" : event.reason === "sms_no_answer" ? "unknown" : "failed";
  const gateway = event.kind === "sent" ? event.gateway : event.gateways.join(",");
  deps.background(
    limiter
      .recordDelivery({ gateway, channel: event.channel, at: Date.now(), outcome })
      .catch((err: unknown) => console.error(JSON.stringify({ event: "otp.last_sms_failed", error: describe(err) }))),
  );
}

/** A send refused by a limit is counted by the limit's code; a storage failure (503) is not a reason. */
function recordRefusal(deps: OtpDeps, phone: NormalizedPhone, refusal: ServiceError): void {
  const reasons: readonly string[] = ["rate_limited", "too_many_attempts", "sms_budget_exhausted"];
  if (reasons.includes(refusal.code)) {
    recordOtpEvent(deps, phone, { kind: "send_refused", reason: refusal.code as FailureReason });
  }
}

/** The refusal to answer with: a limit's own refusal first (it says when to come back), else a storage failure. */
function firstRefusal(results: PromiseSettledResult<ServiceError | undefined>[]): ServiceError | undefined {
  for (const r of results) if (r.status === "fulfilled" && r.value) return r.value;
  for (const r of results) if (r.status === "rejected") return asUnavailable(r.reason);
  return undefined;
}

function sendRefusal(refusal: SendRefusal, maxSendsPerHour: number): ServiceError {
  // Only after a 503, when nobody is waiting for this answer any more.
  if (refusal.outcome === "cancelled") return asUnavailable(new Error("reservation given up before it arrived"));
  const seconds = refusal.retryAfterMs / 1000;
  switch (refusal.outcome) {
    case "locked":
    case "throttled":
      return new TooManyAttemptsError(
        `Too many wrong codes were entered for this number. Try again in ${describeWait(seconds)}.`,
        { retryAfter: seconds },
      );
    case "cooldown":
      return new RateLimitedError(`Wait ${describeWait(seconds)} before requesting another code.`, {
        retryAfter: seconds,
      });
    case "hourly_limit":
      return new RateLimitedError(
        `You have asked for ${maxSendsPerHour} codes for this number in the last hour. Try again in ${describeWait(seconds)}.`,
        { retryAfter: seconds },
      );
    case "number_limit":
      return new RateLimitedError(
        `This number has been sent too many codes in the last hour. Try again in ${describeWait(seconds)}.`,
        { retryAfter: seconds },
      );
  }
}

/**
 * Gives back what a refused or failed request took: each undo at once, with
 * the storage deadline; one that fails or is slow is retried after the
 * response. Every undo is idempotent.
 */
async function giveBack(deps: OtpDeps, undos: Undo[]): Promise<void> {
  const timeoutMs = deps.settings.storageTimeoutMs;
  await Promise.all(
    undos.map(async (undo) => {
      try {
        await storageCall({ timeoutMs, background: deps.background }, undo);
      } catch {
        deps.background(
          undo().catch((err: unknown) =>
            console.error(JSON.stringify({ event: "otp.give_back_failed", error: describe(err) })),
          ),
        );
      }
    }),
  );
}

/**
 * Check a guess. Only a guess that names a live code of this number by its
 * verification_id is evaluated and counted; every other guess changes
 * nothing and gets one and the same answer (404 otp_not_found), whatever the
 * number's state. Storage round trips: (1) the code's hash from KV, compared
 * in constant time; (2) one atomic call to the number's Durable Object that
 * records the guess, and only that call decides. A call that passes its
 * deadline answers 503 and is undone if it commits late.
 *
 * A right guess uses the code up. If what the caller does next fails (it
 * answers 503 and signs nobody in), `giveBack()` makes the code live again.
 *
 * Without an id (OTP_REQUIRE_VERIFICATION_ID=false only), the guess is
 * checked against the number's newest live code, which costs one more
 * round trip and lets anyone who knows the number spend that code's tries.
 */
export async function verifyOtp(
  deps: OtpDeps,
  phone: NormalizedPhone,
  guess: string,
  verificationId: string | undefined,
  client: VerifyContext,
): Promise<VerifiedCode> {
  const { settings } = deps;
  const { otp } = settings;
  const options: StorageCallOptions = { timeoutMs: settings.storageTimeoutMs, background: deps.background };
  const limiter: PhoneLimiterRpc = limiterFor(deps.limiters, phone.e164);

  // Round trip 1: the client's verify allowance, before any KV read or call on the number's object.
  const allowance = verifyQuota(deps.quotas, client, {
    perIp: otp.maxVerifiesPerIpPerHour,
    sendsPerIp: otp.maxSendsPerIpPerHour,
    sendsPer56: settings.clients.maxSendsPer56PerHour,
    sendsPer48: settings.clients.maxSendsPer48PerHour,
    sendsPerCarrierIp: settings.clients.maxSendsPerCarrierIpPerHour,
    carrierAsns: settings.clients.carrierAsns,
  });
  const refused = await storageCall(options, () => allowance.take(), allowance.release);
  if (refused) throw refused;
  const giveAllowanceBack = () => deps.background(giveBack(deps, [allowance.release]));

  let codeId = verificationId;
  if (codeId === undefined) {
    codeId = (await storageCall(options, () => limiter.newestLiveCode(otp.maxAttempts))) ?? undefined;
    if (codeId === undefined) throw new OtpNotFoundError();
  }
  if (!isVerificationId(codeId)) throw new OtpNotFoundError();
  const id = codeId;

  const hash = await storageCall(options, () => getCodeHash(deps.kv, phone.e164, id));
  // Not in KV here (yet): a young code's hash is still held by the number's object, which then compares.
  const check =
    hash === undefined
      ? { guessHash: await hashCode(otp.hashSecret, phone.e164, id, guess) }
      : { matched: await codeMatches(otp.hashSecret, phone.e164, id, guess, hash) };

  const attemptId = crypto.randomUUID();
  const result = await storageCall(
    options,
    () =>
      limiter.recordAttempt({
        codeId: id,
        attemptId,
        check,
        maxAttempts: otp.maxAttempts,
        // Without an id the guesser may be anyone: its wrong guesses are its own failures, not the requester's.
        ...(verificationId === undefined ? { chargeTo: numberClientKey(client.address) } : {}),
      }),
    () => limiter.undoAttempt(id, attemptId, { late: true }),
  );
  switch (result.outcome) {
    case "verified":
      recordOtpEvent(deps, phone, { kind: "verified" });
      // A right code costs its sender nothing, so neighbours behind one address cannot spend each other's allowance.
      giveAllowanceBack();
      // The hash stays in KV until its TTL: only the Durable Object decides, and it has the code used.
      return { giveBack: () => giveBack(deps, [() => limiter.undoAttempt(id, attemptId, { late: false })]) };
    case "wrong":
      recordOtpEvent(deps, phone, { kind: "wrong_code" });
      throw new OtpInvalidError(result.attemptsLeft);
    case "not_live":
      throw new OtpNotFoundError();
  }
}

/** Whether a client of this network stands for many people (a carrier's NAT address, CARRIER_ASNS). */
function isCarrier(settings: Settings, asn: number | undefined): boolean {
  return asn !== undefined && settings.clients.carrierAsns.includes(asn);
}

/** One gateway's failure in the `sms.failed` line: the gateway and its reason, never a key or the vendor's text. */
function attemptForLog(f: SmsFailure) {
  return {
    gateway: f.gateway,
    delivery: f.delivery,
    http_status: f.httpStatus,
    provider_code: f.gatewayCode,
    reason: f.reason,
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
