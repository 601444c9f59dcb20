/**
 * Domain layer: the same code on the next route when a message is not
 * delivered (src/domain/otp/). A followed message (every WhatsApp message; a
 * gateway SMS or call while DELIVERY_WEBHOOK_SECRET is set) whose route has
 * gateways left after the one that accepted it gets a fallback plan, kept on
 * its code by the number's PhoneLimiter: the rest of the route, a deadline
 * (DELIVERY_TIMEOUT_SECONDS) and the code sealed (sealed-code.ts). When the
 * deadline passes with no message delivered (or a failed report brings it
 * forward), the object's alarm calls sendFallback: the same code through the
 * next gateway, for what a send of its channel costs in the day's budget.
 */
import type { Settings } from "../../kernel/config/settings";
import { SmsFailedError } from "../../kernel/errors/service-error";
import { gatewayFailureFields, log } from "../../kernel/log/log";
import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";
import type { BudgetShard } from "../../platform/limiter/budget-shard";
import type { FallbackPlan, FallbackResult, FallbackStep } from "../../platform/limiter/limiter-types";
import { MESSAGE_ID_SEPARATOR, type RangeGuard } from "../../platform/limiter/range-guard";
import { inDeliveryOrder } from "../../platform/sms/delivery-health";
import { ISOLATE_BREAKERS, recordAttempt } from "../../platform/sms/gateway-breakers";
import { deliveryRoute, gatewayNamed } from "../../platform/sms/gateway-for";
import type { Channel } from "../../platform/sms/sms-gateway";
import { type EventDeps, rangeBlocked } from "../events/app-events";
import { type RangeHold, rangeExempt, rangeHold, rangeOf } from "../guards/range-guard";
import { budgetPlanFrom, smsBudget, VOICE_BUDGET_UNITS } from "../guards/send-quotas";
import { recordOtpEvent, type StatsDeps } from "../stats/otp-events";
import { recordRangeEvent } from "../stats/range-events";
import { sealCode, unsealCode } from "./sealed-code";

/** What a due fallback needs: the settings, the day's budget, the fraud guard's ranges, and where its `sent` event is counted. */
export interface FallbackDeps extends StatsDeps {
  budgets: DurableObjectNamespace<BudgetShard>;
  ranges: DurableObjectNamespace<RangeGuard>;
  /** Where the app's events go (EVENTS_QUEUE), when it has any (domain/events). */
  events?: EventDeps["events"];
}

/** The message a send's gateway accepted: which gateway, on which channel, after which failures. */
export interface AcceptedVia {
  gateway: string;
  channel: Channel;
  failedOverFrom: readonly string[];
}

/**
 * The fallback plan of an accepted message, or undefined when there is none:
 * the message is not followed, DELIVERY_MAX_MESSAGES is 1, or its route has
 * no gateway left after the one that accepted it (nor one that failed in this send).
 */
export async function planFallback(
  settings: Settings,
  phone: NormalizedPhone,
  codeId: string,
  code: string,
  asked: Channel,
  via: AcceptedVia,
  now = Date.now(),
): Promise<FallbackPlan | undefined> {
  const { delivery } = settings;
  // Followed only where a report can arrive: WhatsApp's webhook needs its app secret to be checked.
  const followed =
    via.channel === "whatsapp" ? (settings.whatsapp?.appSecret ?? "") !== "" : delivery.webhookSecret !== undefined;
  if (!followed || delivery.maxMessages <= 1) return undefined;
  const route = deliveryRoute(settings, asked);
  const at = route.findIndex((s) => s.gateway === via.gateway && s.channel === via.channel);
  if (at < 0) return undefined;
  const rest = route.slice(at + 1).filter((s) => !via.failedOverFrom.includes(s.gateway));
  if (rest.length === 0) return undefined;
  const timeoutMs = delivery.timeoutSeconds * 1000;
  return {
    to: { e164: phone.e164, country: phone.country, national: phone.national },
    route: rest,
    dueAt: now + timeoutMs,
    sealedCode: await sealCode(settings.otp.hashSecret, phone.e164, codeId, code),
    timeoutMs,
    maxMessages: delivery.maxMessages,
    maxAttempts: settings.otp.maxAttempts,
    budget: budgetPlanFrom(settings),
  };
}

/**
 * A due fallback: the plan's gateways in today's delivery order (within each
 * channel, those whose recent reports are mostly failures go last, as for a
 * new send: delivery-health.ts), without those whose circuit breaker is open
 * (the isolate's breakers, shared with the sends' failover). None left: it
 * sends nothing, takes nothing, and is skipped as `breaker_open` (unlike a
 * send, no gateway is tried anyway: the first message may still arrive).
 * Else it counts as one more unverified message to its number's range (the
 * fraud guard: a blocked range, or one at its threshold, refuses it as
 * `fraud_suspected` and nothing is sent), then its units from the day's
 * budget (a call VOICE_BUDGET_UNITS, else 1),
 * then the same code through those gateways in order, the first that accepts
 * it ending it; a gateway's failure goes on to the next at once. Each
 * attempt's outcome feeds its breaker as a send's does. A budget that refuses
 * it sends nothing. When every gateway failed cleanly the units are given
 * back; when any outcome is unknown they stay spent (a message may have gone
 * out). The steps it did not try, skipped ones included, stay on the plan
 * (`rest`) for the next deadline. Logged as `otp.fallback_sent` or
 * `otp.fallback_skipped`; the message counted as `sent` under its gateway.
 */
export async function sendFallback(deps: FallbackDeps, codeId: string, plan: FallbackPlan): Promise<FallbackResult> {
  const { settings } = deps;
  if (plan.route.length === 0) return skipped("no_route");
  const usable = inDeliveryOrderOf(plan.route, Date.now()).filter(
    (s) => ISOLATE_BREAKERS.get(s.gateway, s.channel).state !== "open",
  );
  const first = usable[0];
  if (first === undefined) return skipped("breaker_open");
  // Each fallback message is one more unverified message to the range, counted like a send (and refused by its block).
  const range = fallbackRangeHold(deps, codeId, plan);
  if (range && (await range.take()) !== undefined) return skipped("fraud_suspected");
  const units = first.channel === "voice" ? VOICE_BUDGET_UNITS : 1;
  const budget = smsBudget(deps.budgets, plan.budget, Date.now(), units);
  if ((await budget.take()) !== undefined) {
    await range?.release(false);
    return skipped("budget");
  }
  const code = await unsealCode(settings.otp.hashSecret, plan.to.e164, codeId, plan.sealedCode);
  let unknown = false;
  const tried = new Set<FallbackStep>();
  const failed: string[] = [];
  let called = false;
  let held = false;
  if (code !== undefined) {
    for (const step of usable) {
      const gateway = gatewayNamed(settings, step.gateway);
      if (!gateway?.channels.includes(step.channel)) {
        tried.add(step);
        continue;
      }
      const breaker = ISOLATE_BREAKERS.get(step.gateway, step.channel);
      // Half-open with its one probe already out: skipped now, kept for the next deadline.
      if (!breaker.tryAcquire()) {
        held = true;
        continue;
      }
      tried.add(step);
      called = true;
      const started = Date.now();
      try {
        const accepted = await gateway.send(
          { to: plan.to, code, channel: step.channel, appName: settings.appName, autofill: settings.autofill },
          { timeoutMs: settings.smsSendDeadlineMs },
        );
        recordAttempt(breaker);
        log("otp.fallback_sent", { gateway: step.gateway, channel: step.channel });
        recordOtpEvent(deps, plan.to, {
          kind: "sent",
          channel: step.channel,
          gateway: step.gateway,
          test: false,
          budgetUnits: units,
          failedOver: failed,
          fallback: true,
        });
        return {
          outcome: "sent",
          message: {
            channel: step.channel,
            gateway: step.gateway,
            gatewayMessageId: accepted.messageId ?? null,
            status: "pending",
            sentAt: Date.now(),
          },
          rest: plan.route.filter((s) => !tried.has(s)),
        };
      } catch (err) {
        const failure =
          err instanceof SmsFailedError
            ? err.failure
            : { gateway: step.gateway, delivery: "unknown" as const, retryable: true, reason: "unexpected error" };
        if (failure.delivery === "unknown") unknown = true;
        failed.push(step.gateway);
        recordAttempt(breaker, failure);
        log("sms.gateway_failed", {
          to: plan.to,
          gateway: step.gateway,
          channel: step.channel,
          duration_ms: Date.now() - started,
          ...gatewayFailureFields(failure),
          breaker: breaker.state,
        });
        // As in the failover: another gateway would repeat a refusal of the number, or get round a
        // gateway's check on messages to one person.
        if (failure.numberRefused === true || failure.recipientLimited === true) break;
      }
    }
  }
  // A message that went out (or may have) stays held on its range and counts towards a block once settled.
  if (!unknown) await Promise.all([budget.release(false), range?.release(false)]);
  // No gateway called, and one was held back by its breaker (a probe already out): that is why.
  return skipped(!called && held ? "breaker_open" : "no_route");
}

/**
 * The fallback message's hold on its number's range (none when the fraud
 * guard leaves the number alone, or its code's send was not counted there:
 * a caller's code): its own entry, `<codeId>>n` with n the
 * steps left on the route (fewer at each fallback of a code), which counts
 * as verified once its code is (learnt at the range's threshold).
 */
function fallbackRangeHold(deps: FallbackDeps, codeId: string, plan: FallbackPlan): RangeHold | undefined {
  const { settings } = deps;
  if (plan.inRange === false || rangeExempt(settings, plan.to.e164)) return undefined;
  const range = rangeOf(plan.to.e164, settings.fraud.dropDigits);
  return rangeHold({
    ranges: deps.ranges,
    settings,
    range,
    codeId: `${codeId}${MESSAGE_ID_SEPARATOR}${plan.route.length}`,
    e164: plan.to.e164,
    // No lookups: this runs in the number's alarm, which calls no other number's object (range-guard.ts).
    count: true,
    background: deps.background,
    onBlockStarted: (block) => {
      recordRangeEvent(deps, "range_blocked", range);
      rangeBlocked(deps, block);
    },
  });
}

/** The route in today's delivery order: within each channel (in route order), the demoted gateways last. */
function inDeliveryOrderOf(route: readonly FallbackStep[], now: number): FallbackStep[] {
  const channels = [...new Set(route.map((s) => s.channel))];
  return channels.flatMap((channel) =>
    inDeliveryOrder(
      route.filter((s) => s.channel === channel).map((step) => ({ name: step.gateway, step })),
      channel,
      now,
    ).map((e) => e.step),
  );
}

function skipped(reason: "breaker_open" | "budget" | "fraud_suspected" | "no_route"): FallbackResult {
  log("otp.fallback_skipped", { reason });
  return { outcome: reason };
}
