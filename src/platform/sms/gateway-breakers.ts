import type { SmsFailure } from "../../kernel/errors/service-error";
import { BREAKER_DEFAULTS, type BreakerOptions, CircuitBreaker } from "./circuit-breaker";
import type { Channel } from "./sms-gateway";

/**
 * The circuit breakers of a set of gateways: one per gateway and channel
 * (failed calls must not take a gateway away from SMS users), made on first
 * use. The failover of a send and a due fallback (domain/otp/fallback.ts)
 * share the isolate's set, ISOLATE_BREAKERS, so a gateway that is down is
 * skipped by both, and what either learns counts for the other.
 */
export interface GatewayBreakers {
  get(gateway: string, channel: Channel): CircuitBreaker;
  /** Forgets every breaker (tests). */
  clear(): void;
}

export function createGatewayBreakers(options: BreakerOptions = BREAKER_DEFAULTS): GatewayBreakers {
  const breakers = new Map<string, CircuitBreaker>();
  return {
    get(gateway, channel) {
      const key = `${gateway}:${channel}`;
      const existing = breakers.get(key);
      if (existing) return existing;
      const breaker = new CircuitBreaker(options);
      breakers.set(key, breaker);
      return breaker;
    },
    clear: () => breakers.clear(),
  };
}

/**
 * The isolate's breakers, keyed by gateway name and channel: one service's
 * settings per isolate, so a name is one account. Per isolate, like the
 * breakers always were: isolates need not agree, only recover.
 */
export const ISOLATE_BREAKERS: GatewayBreakers = createGatewayBreakers();

/**
 * One attempt's outcome on its breaker: an acceptance, a refusal of the
 * recipient or a channel the person cannot get it on says the gateway works
 * (closes it); any other failure says the gateway or its account is in
 * trouble (counts towards opening it).
 */
export function recordAttempt(breaker: CircuitBreaker, failure?: SmsFailure): void {
  const works =
    failure === undefined ||
    failure.numberRefused === true ||
    failure.recipientLimited === true ||
    failure.channelUnreachable === true;
  if (works) breaker.recordSuccess();
  else breaker.recordFailure();
}
