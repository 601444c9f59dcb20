/**
 * Domain layer: the fraud guard's events in the operator's figures (a range
 * blocked, a block lifted), counted in the day's StatsCounter and written to
 * Analytics Engine like the OTP events (otp-events.ts). They name no number:
 * the figures hold only how many.
 */
import { log } from "../../kernel/log/log";
import { STATS_SHARDS, statsCounterFor } from "../../platform/stats/stats-counter";
import { type StatsDeps, utcDay } from "./otp-events";

export type RangeEvent = "range_blocked" | "range_lifted";

/** The metric each event is counted under. */
export const RANGE_METRICS: Record<RangeEvent, string> = {
  range_blocked: "ranges_blocked",
  range_lifted: "ranges_lifted",
};

/** A shard picked from the range's digits, so the events of many ranges spread over the day's shards. */
function shardOf(range: string): number {
  let sum = 0;
  for (const ch of range) sum = (sum * 31 + ch.charCodeAt(0)) % 65_521;
  return sum % STATS_SHARDS;
}

/** Counts a range event after the response; a failure is logged and lost, as for the OTP events. */
export function recordRangeEvent(
  deps: Pick<StatsDeps, "stats" | "analytics" | "background">,
  event: RangeEvent,
  range: string,
  at = Date.now(),
): void {
  const day = utcDay(at);
  try {
    deps.analytics?.writeDataPoint({ blobs: [event, "", "", "", "ok"], doubles: [1, 0], indexes: [day] });
  } catch (error) {
    log("stats.record_failed", { where: "analytics", error });
  }
  deps.background(
    statsCounterFor(deps.stats, day, shardOf(range))
      .record(day, [{ metric: RANGE_METRICS[event], key: "", n: 1 }])
      .catch((error: unknown) => log("stats.record_failed", { where: "counters", error })),
  );
}
