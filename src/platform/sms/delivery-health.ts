import { log } from "../../kernel/log/log";
import type { Channel } from "./sms-gateway";

/**
 * Per-isolate delivery health of each gateway on each channel, from the
 * delivery reports that moved one of our messages forward (code-delivery.ts
 * feeds them): a gateway whose recent reports are mostly failures is tried
 * after the healthy ones of its channel (failover-gateway.ts), and comes
 * back to its place once they recover.
 *
 * The window is the last WINDOW reports of a gateway and channel, none older
 * than MAX_AGE_MS. A gateway is demoted when the window holds at least
 * MIN_REPORTS reports and at least FAILURE_SHARE of them are failures; with
 * fewer reports (too few yet, or the old ones aged out) it is not, so a
 * demoted gateway that gets no more sends is back after MAX_AGE_MS at most.
 * Demotion only reorders: every gateway stays in the order, so the last one
 * is still tried. Each isolate learns on its own, like the circuit breakers.
 *
 * Logs `sms.gateway_demoted` and `sms.gateway_restored` once per change.
 */
export const DELIVERY_HEALTH = {
  window: 20,
  maxAgeMs: 10 * 60_000,
  minReports: 10,
  failureShare: 0.5,
} as const;

interface Verdict {
  readonly at: number;
  readonly failed: boolean;
}

interface Health {
  reports: Verdict[];
  demoted: boolean;
}

const healths = new Map<string, Health>();

const keyOf = (gateway: string, channel: Channel) => `${gateway}:${channel}`;

/** One report that moved a message of `gateway` on `channel` forward (a repeat must not be counted again). */
export function recordDeliveryOutcome(
  gateway: string,
  channel: Channel,
  status: "delivered" | "failed",
  now: number = Date.now(),
): void {
  const key = keyOf(gateway, channel);
  const health = healths.get(key) ?? { reports: [], demoted: false };
  healths.set(key, health);
  health.reports.push({ at: now, failed: status === "failed" });
  evaluate(gateway, channel, health, now);
}

/** Whether `gateway` goes after the healthy gateways of `channel` now. */
export function isDemoted(gateway: string, channel: Channel, now: number = Date.now()): boolean {
  const health = healths.get(keyOf(gateway, channel));
  return health === undefined ? false : evaluate(gateway, channel, health, now);
}

/**
 * The gateways of one channel in send order: the healthy ones first, then
 * the demoted ones, each group in its given order. Never drops one.
 */
export function inDeliveryOrder<T extends { readonly name: string }>(
  gateways: readonly T[],
  channel: Channel,
  now: number = Date.now(),
): T[] {
  const demoted = gateways.filter((g) => isDemoted(g.name, channel, now));
  if (demoted.length === 0) return [...gateways];
  return [...gateways.filter((g) => !demoted.includes(g)), ...demoted];
}

/** Forgets everything learnt (tests). */
export function resetDeliveryHealth(): void {
  healths.clear();
}

/** Drops what fell out of the window, and logs a change of verdict; answers whether the gateway is demoted. */
function evaluate(gateway: string, channel: Channel, health: Health, now: number): boolean {
  const { window, maxAgeMs, minReports, failureShare } = DELIVERY_HEALTH;
  health.reports = health.reports.filter((r) => now - r.at < maxAgeMs).slice(-window);
  const reports = health.reports.length;
  const failed = health.reports.filter((r) => r.failed).length;
  const demoted = reports >= minReports && failed >= failureShare * reports;
  if (demoted !== health.demoted) {
    health.demoted = demoted;
    log(demoted ? "sms.gateway_demoted" : "sms.gateway_restored", { gateway, channel, reports, failed });
  }
  return demoted;
}
