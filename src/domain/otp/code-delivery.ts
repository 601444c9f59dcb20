/**
 * Domain layer: where a code's messages stand (src/domain/otp/). The
 * gateways' delivery reports arrive at the webhook and are recorded on the
 * number's PhoneLimiter; /verification-status reads them back for the app
 * that asked for the code. A report only ever says whether a message reached
 * a phone: it never counts as a verification, and never changes a code's tries.
 */
import type { Settings } from "../../kernel/config/settings";
import { describeWait } from "../../kernel/describe-wait";
import { OtpNotFoundError, RateLimitedError } from "../../kernel/errors/service-error";
import { log } from "../../kernel/log/log";
import { type NormalizedPhone, normalizePhone } from "../../kernel/phone/normalize-phone";
import { dltProblem } from "../../platform/delivery/dlt-reasons";
import { type ReportingGateway, reportParsers } from "../../platform/delivery/reports/report-parsers";
import { reportRecipients } from "../../platform/delivery/reports/report-recipients";
import type { CodeDelivery, CodeMessage, GatewayReport, MessageStatus } from "../../platform/limiter/limiter-types";
import { limiterFor, type PhoneLimiter } from "../../platform/limiter/phone-limiter";
import { recordDeliveryOutcome } from "../../platform/sms/delivery-health";
import type { Channel } from "../../platform/sms/sms-gateway";
import type { StatsCounter } from "../../platform/stats/stats-counter";
import { type StorageCallOptions, storageCall } from "../../platform/storage-call";
import type { WhatsAppStatus } from "../../platform/whatsapp/whatsapp-webhook";
import { type EventDeps, emitEvents } from "../events/app-events";
import { deliveryEvents } from "../events/delivery-events";
import { type CountedReport, recordDeliveryReports } from "../stats/delivery-stats";
import { isVerificationIdOf } from "./verification-id";

export interface DeliveryDeps {
  settings: Settings;
  limiters: DurableObjectNamespace<PhoneLimiter>;
  /** The day's delivery figures (delivery-stats.ts), counted after the response. */
  stats: DurableObjectNamespace<StatsCounter>;
  background: (work: Promise<unknown>) => void;
  /** Where the app's events go (EVENTS_QUEUE), when it has any (domain/events). */
  events?: EventDeps["events"];
}

const options = (deps: DeliveryDeps): StorageCallOptions => ({
  timeoutMs: deps.settings.storageTimeoutMs,
  background: deps.background,
});

/** The gateways whose webhooks the service reads, as they appear in the webhook's path. */
export const REPORTING_GATEWAYS: readonly ReportingGateway[] = Object.keys(reportParsers) as ReportingGateway[];

export const isReportingGateway = (name: string): name is ReportingGateway =>
  (REPORTING_GATEWAYS as readonly string[]).includes(name);

/**
 * A gateway's webhook body: its reports (reportParsers), each sent to the
 * number it names (normalised: reports often leave out the `+`), all of
 * one number's reports in one call to that number's object, which matches
 * them by the gateway's message id and moves each message forward only.
 * Reports for ids this service never sent, for numbers it does not serve,
 * and bodies that are no report change nothing, and the caller answers them
 * like any other. A failure whose reason names a DLT problem is logged as
 * `sms.dlt_rejected` (the gateway and the problem, never the number or the
 * vendor's text). A storage failure throws (503), so the gateway retries;
 * recording is idempotent, so a retry changes nothing twice.
 */
export async function receiveReports(
  deps: DeliveryDeps,
  gateway: ReportingGateway,
  body: string,
  contentType: string | null,
): Promise<void> {
  const reports = reportParsers[gateway](body, contentType);
  const recipients = reportRecipients(gateway, body, contentType);
  await recordOnNumbers(
    deps,
    gateway,
    reports.length,
    reports.map((r) => ({
      number: recipients.get(r.messageId),
      report: {
        gateway,
        messageId: r.messageId,
        status: r.status,
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        ...(r.at === undefined ? {} : { at: r.at }),
      },
    })),
  );
}

/**
 * WhatsApp's message statuses (a signed POST /webhooks/whatsapp, already
 * parsed): `delivered` and `read` mark the message delivered, `failed`
 * marks it failed with Meta's error code as the reason, and `sent` changes
 * nothing (it is counted as received). Each is matched by its `wamid` among
 * the WhatsApp messages of the number `recipient_id` names (digits with the
 * country code), through the same path as the gateways' reports: unknown
 * ids and numbers change nothing, a storage failure throws (503, Meta
 * retries), and a repeat changes nothing twice.
 */
export async function receiveWhatsAppStatuses(deps: DeliveryDeps, statuses: readonly WhatsAppStatus[]): Promise<void> {
  await recordOnNumbers(
    deps,
    "whatsapp",
    statuses.length,
    statuses.flatMap((s) =>
      s.status === "sent"
        ? []
        : [
            {
              number: s.recipientId === undefined ? undefined : `+${s.recipientId}`,
              report: {
                gateway: "whatsapp",
                messageId: s.messageId,
                status: s.status === "failed" ? ("failed" as const) : ("delivered" as const),
                ...(s.status === "failed" && s.errorCode !== undefined ? { reason: String(s.errorCode) } : {}),
                ...(s.at === undefined ? {} : { at: s.at }),
              },
            },
          ],
    ),
  );
}

/**
 * Reports, each to the number it names, all of one number's in one call to
 * its object; logged as `delivery.reports`. Each one that moved a message
 * forward also counts towards the gateway's delivery health on the
 * message's channel (delivery-health.ts), which orders new sends.
 */
async function recordOnNumbers(
  deps: DeliveryDeps,
  gateway: string,
  received: number,
  reports: readonly { number: string | undefined; report: GatewayReport }[],
): Promise<void> {
  const byNumber = new Map<string, GatewayReport[]>();
  // One post's work is bounded: a gateway batches at most a thousand reports (Meta's own limit per post).
  for (const { number, report } of reports.slice(0, MAX_REPORTS_PER_POST)) {
    const e164 = numberOf(number, deps.settings);
    if (e164 === undefined) continue;
    byNumber.set(e164, [...(byNumber.get(e164) ?? []), report]);
  }
  let applied = 0;
  const counted: CountedReport[] = [];
  try {
    await Promise.all(
      [...byNumber].map(async ([e164, mine]) => {
        const limiter = limiterFor(deps.limiters, e164);
        const outcomes = await storageCall(options(deps), () => limiter.recordReports(mine));
        emitEvents(
          deps,
          deliveryEvents(
            e164,
            outcomes.flatMap((o) => (typeof o === "object" ? [o] : [])),
          ),
        );
        mine.forEach((report, i) => {
          const outcome = outcomes[i];
          if (typeof outcome !== "object") return;
          applied += 1;
          counted.push({ ...outcome, reason: report.reason });
          recordDeliveryOutcome(gateway, outcome.channel, report.status);
          const problem = report.status === "failed" && gateway !== "whatsapp" ? dltProblem(report.reason) : null;
          if (problem !== null) log("sms.dlt_rejected", { gateway, problem });
        });
      }),
    );
  } catch (error) {
    log("delivery.report_failed", { gateway, error });
    throw error;
  } finally {
    // Counted once, when applied: a gateway's retry after a 503 changes (and counts) nothing twice.
    recordDeliveryReports(deps, counted);
  }
  log("delivery.reports", { gateway, received, applied });
}

/** A report's number in E.164, or undefined when it names none this service serves. */
function numberOf(raw: string | undefined, settings: Settings): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return normalizePhone(raw, settings.allowedCountries).e164;
  } catch {
    return undefined;
  }
}

/** /verification-status's answer (api-schemas.ts, verificationStatusResponse). */
export interface VerificationStatus {
  status: MessageStatus;
  channel: Channel;
  messages: { channel: Channel; status: MessageStatus; sent_at: string; delivered_at?: string }[];
  expires_in: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Where the code a verification_id names stands: `delivered` once any of its
 * messages was, `failed` once every one failed (there is no other route to
 * try yet), else `pending`; a test number's code answers in the same shape
 * (testNumberMessages). One code's status may be read STATUS_POLLS_PER_CODE
 * times, then 429. An id whose tag is not this number's is refused before any
 * storage call; every id that names no live code of this number (unknown,
 * another number's, used, expired, out of tries) is the one 404
 * otp_not_found, as at /verify-otp. No gateway and no failure reason is in
 * the answer.
 */
export async function verificationStatus(
  deps: DeliveryDeps,
  phone: NormalizedPhone,
  verificationId: string,
): Promise<VerificationStatus> {
  const { otp } = deps.settings;
  if (!(await isVerificationIdOf(otp.hashSecret, phone.e164, verificationId, otp.ttlSeconds))) {
    throw new OtpNotFoundError();
  }
  const limiter = limiterFor(deps.limiters, phone.e164);
  const delivery = await storageCall(options(deps), () => limiter.codeDelivery(verificationId, otp.maxAttempts));
  if (delivery === null) throw new OtpNotFoundError();
  if ("refused" in delivery) {
    const seconds = Math.max(1, Math.ceil(delivery.refused / 1000));
    throw new RateLimitedError(
      `This code's status was asked for too often. Try again in ${describeWait(seconds)}, or enter the code.`,
      { retryAfter: seconds },
    );
  }
  const now = Date.now();
  const expiresIn = Math.max(0, Math.ceil((delivery.expiresAt - now) / 1000));
  const messages = deps.settings.testNumbers.has(phone.e164)
    ? testNumberMessages(delivery, reportsFollowed(deps.settings, delivery.channel), now)
    : delivery.messages;
  return {
    status: overall(messages),
    channel: messages.at(-1)?.channel ?? delivery.channel,
    messages: messages.map((m) => ({
      channel: m.channel,
      status: m.status,
      sent_at: iso(m.sentAt),
      ...(m.status === "delivered" && m.deliveredAt !== undefined ? { delivered_at: iso(m.deliveredAt) } : {}),
    })),
    expires_in: expiresIn,
  };
}

function overall(messages: readonly CodeMessage[]): MessageStatus {
  if (messages.some((m) => m.status === "delivered")) return "delivered";
  if (messages.length > 0 && messages.every((m) => m.status === "failed")) return "failed";
  return "pending";
}

/**
 * What a test number's code shows: no message went out and no report comes,
 * but the answer has the shape a real number's has, so /verification-status
 * cannot tell a test number from a real one: one message on the code's
 * channel, delivered TEST_DELIVERY_MS after the send when reports are
 * followed on its channel (reportsFollowed), else pending, as a real one stays.
 */
function testNumberMessages(delivery: CodeDelivery, followed: boolean, now: number): CodeMessage[] {
  const deliveredAt = delivery.issuedAt + TEST_DELIVERY_MS;
  const delivered = followed && now >= deliveredAt;
  return [
    {
      channel: delivery.channel,
      gateway: "test_number",
      gatewayMessageId: null,
      status: delivered ? "delivered" : "pending",
      sentAt: delivery.issuedAt,
      ...(delivered ? { deliveredAt } : {}),
    },
  ];
}

/** How long after its send a test number's code shows as delivered: about as long as a real SMS takes. */
const TEST_DELIVERY_MS = 3000;

/** The most reports one webhook post is read for; the rest of a larger one is ignored. */
const MAX_REPORTS_PER_POST = 1000;

/**
 * Whether a real code's messages on `channel` get reports, so a test
 * number's code answers the same way: WhatsApp's when its webhook can be
 * checked (WHATSAPP_APP_SECRET), the gateways' when DELIVERY_WEBHOOK_SECRET is set.
 */
function reportsFollowed(settings: Settings, channel: Channel): boolean {
  return channel === "whatsapp"
    ? (settings.whatsapp?.appSecret ?? "") !== ""
    : settings.delivery.webhookSecret !== undefined;
}
