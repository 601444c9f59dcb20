import type { Settings } from "../../kernel/config/settings";
import { describeWait } from "../../kernel/describe-wait";
import { RateLimitedError, type ServiceError } from "../../kernel/errors/service-error";
import { HOUR_MS } from "../../kernel/time";
import { type QuotaCounter, quotaCounterFor } from "../../platform/limiter/quota-counter";
import { clientPrefixes } from "./client-address";

/** What sizes a client's verify allowance: OTP_MAX_VERIFIES_PER_IP_PER_HOUR, scaled like its send limits. */
export interface VerifyAllowance {
  perIp: number;
  /** The send limits whose ratios to the per-address one give shared keys (a /56, a /48, a carrier's address) more. */
  sendsPerIp: number;
  sendsPer56: number;
  sendsPer48: number;
  sendsPerCarrierIp: number;
  carrierAsns: readonly number[];
}

/** The VerifyAllowance of the settings: OTP_MAX_VERIFIES_PER_IP_PER_HOUR and the send limits it scales by. */
export function verifyAllowanceFrom({ otp, clients }: Pick<Settings, "otp" | "clients">): VerifyAllowance {
  return {
    perIp: otp.maxVerifiesPerIpPerHour,
    sendsPerIp: otp.maxSendsPerIpPerHour,
    sendsPer56: clients.maxSendsPer56PerHour,
    sendsPer48: clients.maxSendsPer48PerHour,
    sendsPerCarrierIp: clients.maxSendsPerCarrierIpPerHour,
    carrierAsns: clients.carrierAsns,
  };
}

/** The verifies a client may make before it is refused, under one of its keys. */
export interface VerifyHold {
  /** Takes a verify from every key of the client; resolves to the refusal, or undefined when all took it. */
  take(): Promise<ServiceError | undefined>;
  /**
   * Gives the verify back (a right code costs its sender nothing); safe
   * whatever take did. `late` (the default) when the take passed its
   * deadline: only then is the ticket remembered by the counters.
   */
  release(late?: boolean): Promise<void>;
}

/**
 * The per-client verify allowance, checked before any KV read or call on a
 * number's object, so guesses with made-up ids cost their sender, not the
 * service or the number's owner. Counted per address (an IPv6 client per
 * /64, /56 and /48, each /56 and /48 with more, in the ratio of their send
 * limits; an address of a carrier in CARRIER_ASNS, shared by many people,
 * with more in the ratio of OTP_MAX_SENDS_PER_CARRIER_IP_PER_HOUR). A
 * right code is given back, so only failed verifies use it up.
 */
export function verifyQuota(
  ns: DurableObjectNamespace<QuotaCounter>,
  client: { address: string | undefined; asn?: number | undefined },
  allowance: VerifyAllowance,
): VerifyHold {
  const carrier = client.asn !== undefined && allowance.carrierAsns.includes(client.asn);
  const scaled = (sends: number) =>
    Math.max(allowance.perIp, Math.ceil((allowance.perIp * sends) / allowance.sendsPerIp));
  const holds = clientPrefixes(client.address).map(({ key, prefix }) => {
    const limit =
      prefix === 56
        ? scaled(allowance.sendsPer56)
        : prefix === 48
          ? scaled(allowance.sendsPer48)
          : prefix === 32 && carrier
            ? scaled(allowance.sendsPerCarrierIp)
            : allowance.perIp;
    return { counter: quotaCounterFor(ns, `verify:${key}`), limit, ticket: crypto.randomUUID() };
  });
  return {
    async take() {
      const results = await Promise.all(holds.map((h) => h.counter.take(h.ticket, h.limit, HOUR_MS)));
      const waits = results.flatMap((r) => (r.outcome === "refused" ? [r.retryAfterMs / 1000] : []));
      if (waits.length === 0) return undefined;
      // Refused: nothing stays counted under the keys that took it (and nothing is written under those that
      // refused), so a refused flood never extends the wait nor grows the counters.
      await Promise.all(
        holds.filter((_, i) => results[i]!.outcome === "taken").map((h) => h.counter.release(h.ticket, false)),
      );
      return verifyRefusal(Math.max(...waits));
    },
    async release(late = true) {
      await Promise.all(holds.map((h) => h.counter.release(h.ticket, late)));
    },
  };
}

/**
 * The tries one verification id gets once its client's address allowance is
 * spent: `limit` verifies per rolling hour under `verify-id:<id>` (the id is
 * checked to be real and fresh before this is taken), given back like the
 * address allowance for a right code.
 */
export function idQuota(ns: DurableObjectNamespace<QuotaCounter>, verificationId: string, limit: number): VerifyHold {
  const counter = quotaCounterFor(ns, `verify-id:${verificationId}`);
  const ticket = crypto.randomUUID();
  return {
    async take() {
      const result = await counter.take(ticket, limit, HOUR_MS);
      return result.outcome === "taken" ? undefined : verifyRefusal(result.retryAfterMs / 1000);
    },
    release: (late = true) => counter.release(ticket, late),
  };
}

/** The one refusal of a verify allowance, whichever key or id met it. */
function verifyRefusal(waitSeconds: number): ServiceError {
  const seconds = Math.max(1, Math.ceil(waitSeconds));
  return new RateLimitedError(`Too many codes were checked from your network. Try again in ${describeWait(seconds)}.`, {
    retryAfter: seconds,
  });
}
