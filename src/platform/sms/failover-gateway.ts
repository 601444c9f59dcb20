import { SmsFailedError, type SmsFailure } from "../../kernel/errors/service-error";
import { log } from "../../kernel/log/log";
import { gatewayFailureFields } from "../../kernel/log/log-catalog";
import type { BreakerOptions } from "./circuit-breaker";
import { inDeliveryOrder } from "./delivery-health";
import { createGatewayBreakers, type GatewayBreakers, recordAttempt } from "./gateway-breakers";
import { type Channel, channelOf, type OtpMessage, type SmsDelivered, type SmsGateway } from "./sms-gateway";

/** A gateway is not started with less than this left of the send's deadline (after a first attempt). */
export const MIN_ATTEMPT_MS = 1000;

export interface FailoverOptions {
  /** How long one send may take across every gateway it tries (SMS_SEND_DEADLINE_MS). */
  deadlineMs: number;
  breaker?: BreakerOptions;
  /**
   * The breakers to use (gateway-breakers.ts): the isolate's, shared with the
   * due fallbacks, for the service's failover; else a set of its own, made
   * with `breaker`.
   */
  breakers?: GatewayBreakers;
  /**
   * The channel a send goes on to, with the same code, once every gateway of
   * the channel asked for failed (whatsapp → sms): one send for every limit.
   */
  fallback?: Partial<Record<Channel, Channel>>;
}

/**
 * The ordered gateways behind the one SmsGateway interface. A send tries
 * them in order with the same message, so the same code: the first that
 * accepts ends it. A failure that another gateway could avoid (network error,
 * timeout, 5xx, an unreadable answer, the gateway's own account, key,
 * template or rate limit) goes on to the next gateway; a refusal of the
 * number stops there, since every gateway would repeat it. After a timeout
 * the first message may still arrive, so failing over may deliver the same
 * code twice at worst; both messages carry the one live code.
 *
 * A gateway whose circuit breaker is open is skipped; when every gateway
 * that can deliver on the channel is open, the one closest to reopening is
 * tried anyway, so a send is never refused without trying at least one.
 *
 * The final failure is `unknown` when any attempt's was (a message may still
 * arrive), else `not_sent`. One attempt's failure is passed on as it is.
 *
 * Within each channel, a gateway whose recent delivery reports are mostly
 * failures (delivery-health.ts) is tried after the healthy ones, in the
 * given order otherwise; it is never dropped.
 *
 * A channel with a `fallback` (whatsapp → sms) tries its own gateways first
 * and then those of the fallback channel, in the same way and with the same
 * code; the answer names the channel that went out.
 *
 * Logs, number masked, never the code or a key: `sms.sent` (gateway, channel,
 * duration_ms) and one `sms.gateway_failed` line per failed attempt (gateway,
 * reason), so an operator sees a failing gateway even when the next one
 * delivered.
 */
export function createFailoverGateway(gateways: readonly SmsGateway[], options: FailoverOptions): SmsGateway {
  const now = options.breaker?.now ?? (() => Date.now());
  // One breaker per gateway and channel: failed calls must not take a gateway away from SMS users.
  const breakers = options.breakers ?? createGatewayBreakers(options.breaker);
  const breakerFor = (gateway: SmsGateway, channel: Channel) => breakers.get(gateway.name, channel);
  const channels = [...new Set(gateways.flatMap((g) => g.channels))];
  return {
    name: gateways.map((g) => g.name).join(","),
    channels,
    async send(message: OtpMessage): Promise<SmsDelivered> {
      const asked = channelOf(message);
      const next = options.fallback?.[asked];
      const route = next === undefined || next === asked ? [asked] : [asked, next];
      // Within each channel of the route, gateways with mostly failed recent reports go last (delivery-health.ts).
      const able = route.flatMap((channel) =>
        inDeliveryOrder(
          gateways.filter((gateway) => gateway.channels.includes(channel)),
          channel,
          now(),
        ).map((gateway) => ({ gateway, channel, breaker: breakerFor(gateway, channel) })),
      );
      const channel = asked;
      if (able.length === 0) {
        throw new SmsFailedError({
          gateway: gateways.map((g) => g.name).join(","),
          delivery: "not_sent",
          retryable: false,
          reason: `no gateway delivers on the ${channel} channel`,
        });
      }
      // A gateway is let through (or takes its half-open probe) only when it is about to be called.
      const usable = able.filter((e) => e.breaker.state !== "open");
      const order =
        usable.length > 0 ? usable : [[...able].sort((a, b) => a.breaker.reopensAt - b.breaker.reopensAt)[0]!];
      const skipped = able.filter((e) => !order.includes(e)).map((e) => e.gateway.name);
      const started = now();
      const failures: SmsFailure[] = [];
      for (const [index, { gateway, channel: on, breaker }] of order.entries()) {
        const left = options.deadlineMs - (now() - started);
        if (failures.length > 0 && left < MIN_ATTEMPT_MS) break;
        // The last resort (every breaker open, or nothing tried yet at the end) is tried whatever its breaker says.
        const lastResort = usable.length === 0 || (failures.length === 0 && index === order.length - 1);
        if (!lastResort && !breaker.tryAcquire()) {
          skipped.push(gateway.name);
          continue;
        }
        const attemptStart = now();
        try {
          const accepted = await gateway.send({ ...message, channel: on }, { timeoutMs: Math.max(1, left) });
          recordAttempt(breaker);
          log("sms.sent", {
            to: message.to,
            gateway: gateway.name,
            channel: on,
            duration_ms: now() - attemptStart,
            ...(failures.length > 0 ? { failed_over_from: failures.map((f) => f.gateway) } : {}),
          });
          return {
            messageId: accepted.messageId,
            ...(accepted.simulatedReport ? { simulatedReport: accepted.simulatedReport } : {}),
            gateway: gateway.name,
            channel: on,
            failedOverFrom: failures.map((f) => f.gateway),
          };
        } catch (err) {
          const failure = asFailure(gateway.name, err);
          const recipient = failure.numberRefused === true || failure.recipientLimited === true;
          // A refusal of the recipient says the gateway works; it must not open the breaker.
          recordAttempt(breaker, failure);
          failures.push(failure);
          log("sms.gateway_failed", {
            to: message.to,
            gateway: gateway.name,
            channel: on,
            duration_ms: now() - attemptStart,
            ...gatewayFailureFields(failure),
            breaker: breaker.state,
          });
          // Another gateway would repeat the refusal, or get round the gateway's anti-spam check.
          if (recipient) break;
        }
      }
      throw combined(failures, skipped, channel);
    },
  };
}

function combined(failures: SmsFailure[], skipped: string[], channel: Channel): SmsFailedError {
  const last = failures.at(-1)!;
  if (failures.length === 1 && skipped.length === 0) return new SmsFailedError(last);
  const reasons = [
    ...failures.map((f) => `${f.gateway}: ${f.reason}`),
    ...skipped.map((name) => `${name}: skipped (circuit open)`),
  ];
  return new SmsFailedError({
    gateway: failures.map((f) => f.gateway).join(","),
    delivery: failures.some((f) => f.delivery === "unknown") ? "unknown" : "not_sent",
    retryable: skipped.length > 0 || failures.some((f) => f.retryable),
    ...(last.numberRefused ? { numberRefused: true } : {}),
    ...(last.recipientLimited ? { recipientLimited: true } : {}),
    reason: `every ${channel} gateway failed: ${reasons.join("; ")}`,
    ...(last.httpStatus === undefined ? {} : { httpStatus: last.httpStatus }),
    ...(last.gatewayCode === undefined ? {} : { gatewayCode: last.gatewayCode }),
    attempts: failures,
  });
}

/** A gateway that threw something other than SmsFailedError (a bug): the message may have gone out. */
function asFailure(gateway: string, err: unknown): SmsFailure {
  if (err instanceof SmsFailedError) return err.failure;
  return {
    gateway,
    delivery: "unknown",
    retryable: true,
    reason: `unexpected error: ${err instanceof Error ? err.name : typeof err}`,
  };
}
