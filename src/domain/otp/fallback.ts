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
import type { FallbackPlan, FallbackResult } from "../../platform/limiter/limiter-types";
import { deliveryRoute, gatewayNamed } from "../../platform/sms/gateway-for";
import type { Channel } from "../../platform/sms/sms-gateway";
import { budgetPlanFrom, smsBudget, VOICE_BUDGET_UNITS } from "../guards/send-quotas";
import { recordOtpEvent, type StatsDeps } from "../stats/otp-events";
import { sealCode, unsealCode } from "./sealed-code";

/** What a due fallback needs: the settings, the day's budget, and where its `sent` event is counted. */
export interface FallbackDeps extends StatsDeps {
  budgets: DurableObjectNamespace<BudgetShard>;
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
 * A due fallback: its units from the day's budget (a call VOICE_BUDGET_UNITS,
 * else 1), then the same code through the plan's gateways in order, the
 * first that accepts it ending it; a gateway's failure goes on to the next at
 * once. A budget that refuses it sends nothing. When every gateway failed
 * cleanly the units are given back; when any outcome is unknown they stay
 * spent (a message may have gone out). Logged as `otp.fallback_sent` or
 * `otp.fallback_skipped`; the message counted as `sent` under its gateway.
 */
export async function sendFallback(deps: FallbackDeps, codeId: string, plan: FallbackPlan): Promise<FallbackResult> {
  const { settings } = deps;
  const first = plan.route[0];
  if (first === undefined) return skipped("no_route");
  const units = first.channel === "voice" ? VOICE_BUDGET_UNITS : 1;
  const budget = smsBudget(deps.budgets, plan.budget, Date.now(), units);
  if ((await budget.take()) !== undefined) return skipped("budget");
  const code = await unsealCode(settings.otp.hashSecret, plan.to.e164, codeId, plan.sealedCode);
  let unknown = false;
  if (code !== undefined) {
    for (const [index, step] of plan.route.entries()) {
      const gateway = gatewayNamed(settings, step.gateway);
      if (!gateway?.channels.includes(step.channel)) continue;
      const started = Date.now();
      try {
        const accepted = await gateway.send(
          { to: plan.to, code, channel: step.channel, appName: settings.appName, autofill: settings.autofill },
          { timeoutMs: settings.smsSendDeadlineMs },
        );
        log("otp.fallback_sent", { gateway: step.gateway, channel: step.channel });
        recordOtpEvent(deps, plan.to, {
          kind: "sent",
          channel: step.channel,
          gateway: step.gateway,
          test: false,
          budgetUnits: units,
          failedOver: plan.route.slice(0, index).map((s) => s.gateway),
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
          rest: plan.route.slice(index + 1),
        };
      } catch (err) {
        const failure =
          err instanceof SmsFailedError
            ? err.failure
            : { gateway: step.gateway, delivery: "unknown" as const, retryable: true, reason: "unexpected error" };
        if (failure.delivery === "unknown") unknown = true;
        log("sms.gateway_failed", {
          to: plan.to,
          gateway: step.gateway,
          channel: step.channel,
          duration_ms: Date.now() - started,
          ...gatewayFailureFields(failure),
          breaker: "none",
        });
        // As in the failover: another gateway would repeat a refusal of the number, or get round a
        // gateway's check on messages to one person.
        if (failure.numberRefused === true || failure.recipientLimited === true) break;
      }
    }
  }
  if (!unknown) await budget.release(false);
  return skipped("no_route");
}

function skipped(reason: "budget" | "no_route"): FallbackResult {
  log("otp.fallback_skipped", { reason });
  return { outcome: reason };
}
