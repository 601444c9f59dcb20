import type { Settings } from "../../kernel/config/settings";
import { describeWait } from "../../kernel/describe-wait";
import {
  ChannelNotAvailableError,
  OtpInvalidError,
  OtpNotFoundError,
  RateLimitedError,
  type ServiceError,
  SmsFailedError,
  TooManyAttemptsError,
  UnavailableError,
} from "../../kernel/errors/service-error";
import { describeError, gatewayFailureFields, log } from "../../kernel/log/log";
import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";
import { deleteCodeHash, getCodeHash, putCodeHash } from "../../platform/kv/code-store";
import type { BudgetShard } from "../../platform/limiter/budget-shard";
import {
  type AttemptRequest,
  type FallbackPlan,
  type PhoneLimiterRpc,
  type SendRefusal,
  sendLimitsFrom,
} from "../../platform/limiter/limiter-types";
import { limiterFor, type PhoneLimiter } from "../../platform/limiter/phone-limiter";
import type { QuotaCounter } from "../../platform/limiter/quota-counter";
import type { RangeGuard } from "../../platform/limiter/range-guard";
import type { CreateResult, SessionRequest } from "../../platform/sessions/session-types";
import type { Channel, SimulatedReport, SmsGateway } from "../../platform/sms/sms-gateway";
import { asUnavailable, type StorageCallOptions, storageCall, type Undo } from "../../platform/storage-call";
import { type EventDeps, emitEvent, emitEvents, rangeBlocked } from "../events/app-events";
import { deliveryEvents } from "../events/delivery-events";
import { numberClient } from "../guards/client-address";
import { knownRangeRefusal, type RangeHold, rangeExempt, rangeHold, rangeOf } from "../guards/range-guard";
import {
  budgetPlanFrom,
  clientLimitsFrom,
  clientQuotas,
  clientRequests,
  JointTakes,
  type QuotaHold,
  smsBudget,
  smsBudgetProbe,
  VOICE_BUDGET_UNITS,
} from "../guards/send-quotas";
import { idQuota, type VerifyHold, verifyAllowanceFrom, verifyLapseMs, verifyQuota } from "../guards/verify-quotas";
import { verifyTurnstile } from "../guards/verify-turnstile";
import { countDeliveryReports } from "../stats/delivery-stats";
import {
  type FailureReason,
  type OtpEvent,
  REFUSAL_REASONS,
  recordOtpEvent,
  type StatsDeps,
} from "../stats/otp-events";
import { recordRangeEvent } from "../stats/range-events";
import { codeMatches, hashCode } from "./code-hash";
import { planFallback } from "./fallback";
import { generateCode } from "./generate-code";
import { isVerificationIdOf, newVerificationId } from "./verification-id";

/** What the OTP rules need from the outside world; StatsDeps: where its events are counted (after the response). */
export interface OtpDeps extends StatsDeps {
  settings: Settings;
  kv: KVNamespace;
  limiters: DurableObjectNamespace<PhoneLimiter>;
  quotas: DurableObjectNamespace<QuotaCounter>;
  /** The day's SMS budget and each network's hourly sends, sharded (budget-shard.ts). */
  budgets: DurableObjectNamespace<BudgetShard>;
  /** The fraud guard's objects, one per number range (range-guard.ts). */
  ranges: DurableObjectNamespace<RangeGuard>;
  sms: SmsGateway;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  background: (work: Promise<unknown>) => void;
  /** Where the app's events go (EVENTS_QUEUE), when it has any (domain/events). */
  events?: EventDeps["events"];
}

/** Who asked for a code: the client's address (CF-Connecting-IP) and its Turnstile token, if any. */
export interface SendContext {
  clientAddress: string | undefined;
  /** The client's network (Cloudflare's request.cf.asn); undefined when unknown or sent through a trusted proxy. */
  asn?: number | undefined;
  turnstileToken: string | undefined;
  /**
   * `sms` (default), `voice` (a call that speaks the code, through the first gateway that can call) or
   * `whatsapp` (an authentication template, falling back to the SMS gateways with the same code).
   */
  channel?: Channel;
}

/** Who checks a code: the client's address (CF-Connecting-IP) and network (request.cf.asn), if known. */
export interface VerifyContext {
  address: string | undefined;
  asn?: number | undefined;
}

export interface VerifiedCode {
  /** The session the right guess started, in the same call on the number's object. */
  session: CreateResult;
  /** Undo the right guess (and end its session), so the same code verifies again: for when the sign-in cannot be completed. */
  giveBack(): Promise<void>;
  /** The sign-in is complete (its tokens signed): `verification.approved` for the app's backend. */
  approved(): void;
}

export interface SentCode {
  verificationId: string;
  expiresIn: number;
  resendAfter: number;
  /** The channel the code went out on: the one asked for, or sms after a WhatsApp send fell back. */
  channel: Channel;
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
 *
 * The steps, in order: prepareSend (no storage), takeClientHolds (round
 * trip 1), reserveNumber (2), storeCode (3), deliver (the gateway). A step
 * that refuses or fails stops the send through giveBackSend, the one place
 * that says what a send gives back by how far it got.
 */
export async function sendOtp(deps: OtpDeps, phone: NormalizedPhone, context: SendContext): Promise<SentCode> {
  return sendCode(deps, phone, context, undefined);
}

/**
 * Delivers a code that another service made and checks (Supabase's Send SMS
 * hook), through this service's send path: every limit, the budget, the
 * gateway chain, the message text with its autofill lines, delivery reports
 * and the fallback, exactly as sendOtp. Only the code differs: it is not
 * this service's to check, so it is never stored as one (the number's
 * object holds a hash of a random value instead, which no guess matches, and
 * KV gets nothing); a fallback's plan holds it sealed, as any code's. Test
 * numbers get no fixed code here: the code is always delivered.
 */
export async function sendCallerCode(
  deps: OtpDeps,
  phone: NormalizedPhone,
  caller: CallerClient,
  code: string,
): Promise<SentCode> {
  const { settings } = deps;
  const hourly = caller.maxSendsPerHour;
  // The caller is one client with its own hourly allowance (and its requests in the usual proportion);
  // it ran its own bot check before it called.
  const perSend = settings.otp.maxSendRequestsPerIpPerHour / settings.otp.maxSendsPerIpPerHour;
  const otp = {
    ...settings.otp,
    maxSendsPerIpPerHour: hourly,
    maxSendRequestsPerIpPerHour: Math.ceil(hourly * Math.max(1, perSend)),
  };
  const own: OtpDeps = { ...deps, settings: { ...settings, otp, turnstile: undefined } };
  return sendCode(own, phone, { clientAddress: caller.client, turnstileToken: undefined, channel: "sms" }, code);
}

/** A service that sends its own codes through this one: the client key its sends count under, and its hourly sends. */
export interface CallerClient {
  client: string;
  maxSendsPerHour: number;
}

async function sendCode(
  deps: OtpDeps,
  phone: NormalizedPhone,
  context: SendContext,
  callerCode: string | undefined,
): Promise<SentCode> {
  const { settings } = deps;
  const channel = context.channel ?? "sms";
  if (!deps.sms.channels.includes(channel)) {
    throw new ChannelNotAvailableError(
      channel === "voice"
        ? "This service cannot call numbers. Ask for the code by SMS."
        : channel === "whatsapp"
          ? "This service does not send codes on WhatsApp. Ask for the code by SMS."
          : `This service cannot deliver codes by ${channel}.`,
    );
  }
  if (settings.turnstile) await verifyTurnstile(settings.turnstile, context.turnstileToken, context.clientAddress);

  const send = await prepareSend(deps, phone, context, channel, callerCode);
  // A range this isolate saw blocked is refused before anything is taken.
  const blocked = send.range === undefined ? undefined : knownRangeRefusal(send.range);
  if (blocked) {
    recordRefusal(deps, phone, blocked);
    throw blocked;
  }
  await takeClientHolds(send);
  await reserveNumber(send);
  if (callerCode === undefined) await storeCode(send);
  const sentOn = send.testCode === undefined ? await deliver(send) : recordTestSend(send);
  emitEvent(deps, "verification.sent", { phone: phone.e164, verification_id: send.codeId, channel: sentOn });
  const { otp } = settings;
  return {
    verificationId: send.codeId,
    expiresIn: otp.ttlSeconds,
    resendAfter: otp.resendCooldownSeconds,
    channel: sentOn,
  };
}

/** One send on its way: what it stores and delivers, the holds it takes, and how far it got. */
interface PendingSend {
  deps: OtpDeps;
  phone: NormalizedPhone;
  channel: Channel;
  options: StorageCallOptions;
  limiter: PhoneLimiterRpc;
  /** The new code's id, also its public verification_id. */
  codeId: string;
  code: string;
  /** The code's keyed hash (code-hash.ts), held by the number's object and then by KV. */
  hash: string;
  /** Set for a test number (TEST_PHONE_NUMBERS): its fixed code, which is never delivered. */
  testCode: string | undefined;
  /** The number's range for the fraud guard; undefined when the guard leaves the number alone (off, safe-listed). */
  range: string | undefined;
  /** The range's hold (also in `quotas`): told after the response when the message went out, or may have. */
  rangeHold: RangeHold | undefined;
  /** The requesting client as the number's limits see it (numberClient in guards/client-address.ts). */
  client: string;
  shared: boolean;
  trustKey: string | null;
  /** What the delivery takes from the day's budget (a voice call more than an SMS); 0 for a test number. */
  budgetUnits: number;
  /** One of the client's hourly requests: kept whatever the number, the budget or the gateway answered. */
  requests: QuotaHold[];
  /** Every other hold: the client's own (round trip 1) and the shared ones (round trip 2). */
  quotas: QuotaHold[];
  /** How far the send got, which says what giveBackSend has to give back. */
  reachedNumber: boolean;
  reserved: boolean;
  stored: boolean;
}

/** Everything a send needs before its first round trip, made here so a call that answers too late can be undone by it. */
async function prepareSend(
  deps: OtpDeps,
  phone: NormalizedPhone,
  context: SendContext,
  channel: Channel,
  callerCode: string | undefined,
): Promise<PendingSend> {
  const { settings } = deps;
  const testCode = callerCode === undefined ? settings.testNumbers.get(phone.e164) : undefined;
  const codeId = await newVerificationId(settings.otp.hashSecret, phone.e164);
  // Made before the number's object is called: it holds the hash until KV has reached every location.
  const code = callerCode ?? testCode ?? generateCode(settings.otp.length);
  // A caller's code is not this service's to check: its object holds the hash of a random value, which no guess matches.
  const hashed = callerCode === undefined ? code : `unverifiable:${crypto.randomUUID()}${crypto.randomUUID()}`;
  const hash = await hashCode(settings.otp.hashSecret, phone.e164, codeId, hashed);
  const sender = { address: context.clientAddress, asn: context.asn };
  const clientLimits = clientLimitsFrom(settings);
  // The client's sends and requests under each of its keys live in one counter: one call per key (round trip 1).
  const joint = new JointTakes();
  const quotas = clientQuotas(deps.quotas, deps.budgets, sender, clientLimits, settings.budget, Date.now(), joint);
  const units = channel === "voice" ? VOICE_BUDGET_UNITS : 1;
  const plan = budgetPlanFrom(settings);
  // A test number spends no budget, but is refused by a spent budget like any other number.
  quotas.push(
    testCode === undefined
      ? smsBudget(deps.budgets, plan, Date.now(), units)
      : smsBudgetProbe(deps.budgets, plan, Date.now(), units),
  );
  // The range's one call, with the other shared counters (round trip 2); a test number never counts.
  // A caller's code (Supabase's hook) is checked elsewhere, so it could never leave the count: no range.
  const range =
    callerCode !== undefined || rangeExempt(settings, phone.e164)
      ? undefined
      : rangeOf(phone.e164, settings.fraud.dropDigits);
  const heldByRange =
    range === undefined
      ? undefined
      : rangeHold({
          ranges: deps.ranges,
          settings,
          range,
          codeId,
          e164: phone.e164,
          // At the threshold, the send asks the numbers of the range's sends which codes were verified.
          lookups: {
            limiters: deps.limiters,
            maxAttempts: settings.otp.maxAttempts,
            call: { timeoutMs: settings.storageTimeoutMs, background: deps.background },
          },
          count: testCode === undefined,
          background: deps.background,
          onBlockStarted: (block) => {
            recordRangeEvent(deps, "range_blocked", range);
            rangeBlocked(deps, block);
          },
        });
  if (heldByRange) quotas.push(heldByRange);
  return {
    deps,
    phone,
    channel,
    options: { timeoutMs: settings.storageTimeoutMs, background: deps.background },
    limiter: limiterFor(deps.limiters, phone.e164),
    codeId,
    code,
    hash,
    testCode,
    range,
    rangeHold: heldByRange,
    ...numberClient(context.clientAddress, context.asn, settings.clients.carrierAsns),
    budgetUnits: testCode === undefined ? units : 0,
    requests: clientRequests(deps.quotas, sender, clientLimits, joint),
    quotas,
    reachedNumber: false,
    reserved: false,
    stored: false,
  };
}

/** Takes one hold with the storage deadline; its undo is safe whatever the take did. */
function takeHold(send: PendingSend, hold: QuotaHold): Promise<ServiceError | undefined> {
  // The range's hold deadlines each of its calls itself: at its threshold it makes a lookup and a second check.
  if (hold === send.rangeHold && send.rangeHold.ownDeadlines) return hold.take();
  return storageCall(
    send.options,
    () => hold.take(),
    () => hold.release(),
  );
}

/**
 * Round trip 1: the client's own holds (its address and prefixes, its
 * requests), at once. A request refused here never reaches the number: it
 * costs no request.
 */
async function takeClientHolds(send: PendingSend): Promise<void> {
  const own = [...send.requests, ...send.quotas.filter((q) => !q.shared)];
  const refusal = firstRefusal(await Promise.allSettled(own.map((q) => takeHold(send, q))));
  if (refusal) await refuse(send, refusal);
}

/**
 * Round trip 2: the counters shared with other clients (the network's, the
 * day's budget) and the number's limits, at once; the new code is live from
 * here. Only requests their own limits let through get this far, so a flood
 * of refused requests never holds any of these.
 */
async function reserveNumber(send: PendingSend): Promise<void> {
  const { limiter, codeId, deps } = send;
  send.reachedNumber = true;
  const reservation = {
    codeId,
    client: send.client,
    shared: send.shared,
    trustKey: send.trustKey,
    hash: send.hash,
    channel: send.channel,
  };
  // Only a call that passed its deadline leaves a tombstone (an answer in time is undone by giveBackSend).
  const releaseLate: Undo = () => limiter.releaseSend(codeId, { late: true });
  const limits = sendLimitsFrom(deps.settings);
  const results = await Promise.allSettled([
    ...send.quotas.filter((q) => q.shared).map((q) => takeHold(send, q)),
    storageCall(send.options, () => limiter.reserveSend({ ...reservation, limits }), releaseLate).then((r) => {
      if (r.outcome !== "reserved") return sendRefusal(r, limits.maxSendsPerHour);
      send.reserved = true;
      return undefined;
    }),
  ]);
  const refusal = firstRefusal(results);
  if (refusal) await refuse(send, refusal);
}

/** Round trip 3: the code's keyed hash to KV, under a key of its own. */
async function storeCode(send: PendingSend): Promise<void> {
  const { deps, phone, codeId, hash } = send;
  try {
    await storageCall(
      send.options,
      () => putCodeHash(deps.kv, phone.e164, codeId, hash, deps.settings.otp.ttlSeconds),
      dropHash(send),
    );
  } catch (err) {
    await refuse(send, asUnavailable(err));
  }
  send.stored = true;
}

/**
 * The code to the person, through the gateway (with its failover), then the
 * event counted and remembered as the number's last SMS; resolves with the
 * channel it went out on (a WhatsApp send may fall back to SMS). On failure the
 * `sms.failed` line is logged and what the send took is given back
 * (giveBackSend says how much), and the send answers 502.
 */
async function deliver(send: PendingSend): Promise<Channel> {
  const { deps, phone, channel } = send;
  try {
    const delivered = await deps.sms.send({
      to: phone,
      code: send.code,
      channel,
      appName: deps.settings.appName,
      autofill: deps.settings.autofill,
    });
    const via = "gateway" in delivered ? delivered : { gateway: deps.sms.name, channel, failedOverFrom: [] };
    // The code sealed with the rest of its route, for the number's object to send if this message is not delivered.
    const planned = await planFallback(deps.settings, phone, send.codeId, send.code, channel, via).catch(
      () => undefined,
    );
    // A send its range did not count (a caller's code, a number the guard leaves alone): nor do its fallbacks.
    const fallback = planned && send.range === undefined ? { ...planned, inRange: false as const } : planned;
    recordDelivery(
      send,
      {
        kind: "sent",
        channel: via.channel,
        gateway: via.gateway,
        test: false,
        budgetUnits: send.budgetUnits,
        failedOver: via.failedOverFrom,
      },
      { messageId: delivered.messageId, simulatedReport: delivered.simulatedReport, fallback },
    );
    return via.channel;
  } catch (err) {
    const failure = asSmsFailed(deps.sms.name, err);
    const f = failure.failure;
    log("sms.failed", {
      to: phone,
      provider: f.gateway,
      ...gatewayFailureFields(f),
      attempts: f.attempts?.map((a) => ({ gateway: a.gateway, ...gatewayFailureFields(a) })),
    });
    recordDelivery(send, {
      kind: "send_failed",
      channel,
      reason: f.numberRefused ? "number_refused" : f.delivery === "unknown" ? "sms_no_answer" : "sms_refused",
      gateways: (f.attempts ?? [f]).map((a) => a.gateway),
      budgetUnits: f.delivery === "unknown" ? send.budgetUnits : 0,
    });
    // The message may have gone out: its range entry stays held and counts once settled (a clean failure is given back).
    await giveBackSend(send, failure);
    throw failure;
  }
}

/** A test number's send: counted as sent, by no gateway and with no budget. */
function recordTestSend({ deps, phone, channel }: PendingSend): Channel {
  recordOtpEvent(deps, phone, {
    kind: "sent",
    channel,
    gateway: "test_number",
    test: true,
    budgetUnits: 0,
    failedOver: [],
  });
  return channel;
}

/** A gateway's failure as the service answers it: anything but SmsFailedError may have gone out (a bug). */
function asSmsFailed(gateway: string, err: unknown): SmsFailedError {
  if (err instanceof SmsFailedError) return err;
  return new SmsFailedError({ gateway, delivery: "unknown", retryable: true, reason: describeError(err) });
}

/** A send stops at a refusal or failure of its storage steps: the refusal is counted, the holds given back. */
async function refuse(send: PendingSend, refusal: ServiceError): Promise<never> {
  recordRefusal(send.deps, send.phone, refusal);
  await giveBackSend(send, refusal);
  throw refusal;
}

/**
 * Gives back what a send that stopped at `failure` took, by how far it got.
 * - Refused by the client's own holds: everything, its request too.
 * - Stopped later: the number's reservation if it was made (a number that
 *   refused took nothing, and keeps no trace of the request), every hold,
 *   and the request only when the service itself failed (503).
 * - The gateway's outcome unknown (timeout, lost connection): the message
 *   may arrive and may have been billed, so the send stays counted against
 *   every limit and the budget; only the code is killed, so a late SMS
 *   carries a dead code.
 * A code already in KV is dropped after the response.
 */
async function giveBackSend(send: PendingSend, failure: ServiceError): Promise<void> {
  const { limiter, codeId } = send;
  const unknownDelivery = failure instanceof SmsFailedError && failure.failure.delivery === "unknown";
  const keepRequest = send.reachedNumber && !(failure instanceof UnavailableError);
  await giveBack(
    send.deps,
    unknownDelivery
      ? [() => limiter.cancelCode(codeId)]
      : [
          ...(send.reserved ? [() => limiter.releaseSend(codeId, { late: false })] : []),
          // Each of these answered in time (a late one is undone by its storage call), so nothing is remembered.
          ...send.quotas.map((q) => () => q.release(false)),
          ...(keepRequest ? [] : send.requests.map((q) => () => q.release(false))),
        ],
  );
  if (send.stored) send.deps.background(dropHash(send)().catch(() => undefined));
}

function dropHash(send: PendingSend): Undo {
  return () => deleteCodeHash(send.deps.kv, send.phone.e164, send.codeId);
}

/**
 * Counts a delivery (or its failure) and remembers it as the number's last
 * SMS, both after the response; an accepted message is recorded on its code
 * in the same call, as `pending` until a delivery report moves it on (the
 * webhook, or the console gateway's made-up report a moment later).
 */
function recordDelivery(
  send: PendingSend,
  event: Extract<OtpEvent, { kind: "sent" | "send_failed" }>,
  accepted?: {
    messageId: string | undefined;
    simulatedReport: SimulatedReport | undefined;
    fallback?: FallbackPlan | undefined;
  },
): void {
  const { deps, phone, limiter } = send;
  recordOtpEvent(deps, phone, event);
  const now = Date.now();
  const outcome = event.kind === "sent" ? "sent" : event.reason === "sms_no_answer" ? "unknown" : "failed";
  const gateway = event.kind === "sent" ? event.gateway : event.gateways.join(",");
  const message =
    event.kind === "sent" && accepted
      ? {
          codeId: send.codeId,
          message: {
            channel: event.channel,
            gateway,
            gatewayMessageId: accepted.messageId ?? null,
            status: "pending" as const,
            sentAt: now,
          },
          ...(accepted.fallback ? { fallback: accepted.fallback } : {}),
        }
      : undefined;
  const recorded = limiter.recordDelivery({ gateway, channel: event.channel, at: now, outcome }, message);
  const simulated = accepted?.simulatedReport;
  const messageId = accepted?.messageId;
  deps.background(
    recorded.then(
      () => (simulated && messageId ? simulateReport(deps, phone, limiter, gateway, messageId, simulated) : undefined),
      (error: unknown) => log("otp.last_sms_failed", { error }),
    ),
  );
}

/** The console gateway's made-up delivery report, recorded (and counted) `afterMs` after the send as a webhook's would be. */
async function simulateReport(
  deps: OtpDeps,
  phone: NormalizedPhone,
  limiter: PhoneLimiterRpc,
  gateway: string,
  messageId: string,
  report: SimulatedReport,
): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, report.afterMs));
  try {
    const outcomes = await limiter.recordReports([
      { gateway, messageId, status: report.status, ...(report.reason === undefined ? {} : { reason: report.reason }) },
    ]);
    const applied = outcomes.flatMap((o) => (typeof o === "object" ? [{ ...o, reason: report.reason }] : []));
    emitEvents(deps, deliveryEvents(phone.e164, applied));
    report.recorded?.();
    if (applied.length > 0) {
      await countDeliveryReports(deps.stats, applied).catch((error: unknown) =>
        log("stats.record_failed", { where: "delivery", error }),
      );
    }
  } catch (error) {
    log("delivery.report_failed", { gateway, error });
  }
}

/** A send refused by a limit is counted by the limit's code; a storage failure (503) is not a reason. */
function recordRefusal(deps: OtpDeps, phone: NormalizedPhone, refusal: ServiceError): void {
  const reasons: readonly string[] = REFUSAL_REASONS;
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
        `${maxSendsPerHour} codes for this number were asked for from your network in the last hour. Try again in ${describeWait(seconds)}.`,
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
        deps.background(undo().catch((error: unknown) => log("otp.give_back_failed", { error })));
      }
    }),
  );
}

/**
 * Check a guess. Only a guess that names a live code of this number by its
 * verification_id is evaluated and counted; every other guess changes
 * nothing and gets one and the same answer (404 otp_not_found), whatever the
 * number's state. Storage round trips: (1) the client's verify allowance,
 * before anything else is read; (2) one atomic call to the number's Durable
 * Object, which compares the guess's keyed hash with the hash it holds for a
 * code younger than HASH_HELD_MS (3 minutes) and records the guess: only
 * that call decides. For an older code the object holds no hash and counts
 * nothing: (3) the code's hash from KV, compared in constant time, and (4)
 * the call that records it. A call that passes its deadline answers 503 and
 * is undone if it commits late. The allowance is held pending: a guess that
 * fails confirms it after the response, while a right code (or a 503) leaves
 * it to lapse by itself, so a successful verify makes no call to give it back.
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
  session: SessionRequest,
): Promise<VerifiedCode> {
  const { settings } = deps;
  const { otp } = settings;
  const options: StorageCallOptions = { timeoutMs: settings.storageTimeoutMs, background: deps.background };

  // An id this service did not make for this number, or older than any code of it can be, names no code:
  // refused before anything is read or counted.
  if (
    verificationId !== undefined &&
    !(await isVerificationIdOf(otp.hashSecret, phone.e164, verificationId, otp.ttlSeconds))
  ) {
    throw new OtpNotFoundError();
  }

  // Round trip 1: the client's verify allowance, before any KV read or call on the number's object.
  // It is held pending: a right code or an outage leaves it to lapse by itself, with no call.
  const allowance = verifyQuota(deps.quotas, client, verifyAllowanceFrom(settings));
  let refused = await storageCall(
    options,
    () => allowance.take(),
    () => allowance.release(),
  );
  let held: VerifyHold = allowance;
  if (refused && verificationId !== undefined) {
    // The address is spent (neighbours behind one NAT share it): a fresh id still gets a few tries of its
    // own, enough for its code's tries and the right code, so nobody behind the address is kept from
    // signing in by the others, and one id cannot be replayed without end.
    const own = idQuota(deps.quotas, verificationId, otp.maxAttempts + 1, verifyLapseMs(settings));
    refused = await storageCall(
      options,
      () => own.take(),
      () => own.release(),
    );
    held = own;
  }
  if (refused) throw refused;
  try {
    // A right code costs its sender nothing (its hold lapses), so neighbours behind one address cannot
    // spend each other's allowance.
    return await checkGuess(deps, phone, guess, verificationId, client, session);
  } catch (err) {
    // A guess that was checked and failed (wrong, not live, no such code) uses the allowance up; an outage
    // takes nothing from the user, so its hold is left to lapse.
    if (!(err instanceof UnavailableError)) confirmGuess(deps, held);
    throw err;
  }
}

/**
 * Counts a failed guess against the client's verify allowance, after the
 * response: with the storage deadline, and once more on failure. If both
 * fail, the hold lapses and that one guess goes uncounted by the allowance
 * (it fails open; the number's object counted the guess all the same).
 */
function confirmGuess(deps: OtpDeps, held: VerifyHold): void {
  const options: StorageCallOptions = { timeoutMs: deps.settings.storageTimeoutMs, background: deps.background };
  deps.background(
    storageCall(options, () => held.confirm()).catch(() =>
      held.confirm().catch((error: unknown) => log("otp.verify_confirm_failed", { error })),
    ),
  );
}

/** Round trips 2 and on of a verify: the number's object decides (see verifyOtp). */
async function checkGuess(
  deps: OtpDeps,
  phone: NormalizedPhone,
  guess: string,
  verificationId: string | undefined,
  client: VerifyContext,
  session: SessionRequest,
): Promise<VerifiedCode> {
  const { otp } = deps.settings;
  const options: StorageCallOptions = { timeoutMs: deps.settings.storageTimeoutMs, background: deps.background };
  const limiter: PhoneLimiterRpc = limiterFor(deps.limiters, phone.e164);
  let codeId = verificationId;
  if (codeId === undefined) {
    codeId = (await storageCall(options, () => limiter.newestLiveCode(otp.maxAttempts))) ?? undefined;
    if (codeId === undefined) throw new OtpNotFoundError();
  }
  const id = codeId;
  const guesser = numberClient(client.address, client.asn, deps.settings.clients.carrierAsns);

  const attempt = (check: AttemptRequest["check"]) => {
    const attemptId = crypto.randomUUID();
    return storageCall(
      options,
      () =>
        limiter.recordAttempt({
          codeId: id,
          attemptId,
          check,
          maxAttempts: otp.maxAttempts,
          // Without an id the guesser may be anyone: its wrong guesses are its own failures, not the requester's.
          ...(verificationId === undefined ? { chargeTo: { client: guesser.client, shared: guesser.shared } } : {}),
          // A right guess starts the session in this same call.
          session,
        }),
      // Too late for its answer: the code is live again, and the session it may have started ends.
      () => limiter.undoAttempt(id, attemptId, { late: true, sessionId: session.session.sessionId }),
    ).then((result) => ({ result, attemptId }));
  };
  // Round trip 2: the number's object checks the guess against the hash it holds for a young code,
  // so a verify where KV has not arrived yet still works, and most verifies read no KV at all.
  let { result, attemptId } = await attempt({ guessHash: await hashCode(otp.hashSecret, phone.e164, id, guess) });
  if (result.outcome === "hash_not_held") {
    // An older code: its keyed hash from KV, compared here in constant time, then one more call decides.
    const hash = await storageCall(options, () => getCodeHash(deps.kv, phone.e164, id));
    if (hash === undefined) throw new OtpNotFoundError();
    ({ result, attemptId } = await attempt({
      matched: await codeMatches(otp.hashSecret, phone.e164, id, guess, hash),
    }));
  }
  switch (result.outcome) {
    case "verified": {
      // Asked for with the attempt, so always there; a missing one would be an object out of step with this Worker.
      const undo = () => limiter.undoAttempt(id, attemptId, { late: false, sessionId: session.session.sessionId });
      const started = result.session;
      if (started === undefined) {
        await giveBack(deps, [undo]);
        throw asUnavailable(new Error("the number's object started no session"));
      }
      recordOtpEvent(deps, phone, { kind: "verified" });
      // The range is not told: it asks this number's object, should it reach its threshold (range-guard.ts).
      // The hash stays in KV until its TTL: only the Durable Object decides, and it has the code used.
      return {
        session: started,
        giveBack: () => giveBack(deps, [undo]),
        approved: () => emitEvent(deps, "verification.approved", { phone: phone.e164, verification_id: id }),
      };
    }
    case "wrong":
      recordOtpEvent(deps, phone, { kind: "wrong_code" });
      throw new OtpInvalidError(result.attemptsLeft);
    case "not_live":
    case "hash_not_held":
      throw new OtpNotFoundError();
  }
}
