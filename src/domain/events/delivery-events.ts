import type { AppliedReport } from "../../platform/limiter/limiter-types";
import type { AppEvent } from "./app-events";

/**
 * The app's events of the delivery reports one number's object applied:
 * `verification.delivered` for a message delivered; `verification.failed`
 * for a failed one once nothing else of its code is on its way or due
 * (no pending message, no fallback), so the app hears of a failure only when
 * no message reached the person.
 */
export function deliveryEvents(e164: string, applied: readonly AppliedReport[]): AppEvent[] {
  return applied.flatMap((r): AppEvent[] => {
    const data = { phone: e164, verification_id: r.codeId, channel: r.channel };
    if (r.status === "delivered") return [{ type: "verification.delivered", data }];
    return r.stillTrying ? [] : [{ type: "verification.failed", data }];
  });
}
