import type { Settings } from "../../kernel/config/settings";
import { describeWait } from "../../kernel/describe-wait";
import { RateLimitedError, type ServiceError } from "../../kernel/errors/service-error";
import { HOUR_MS } from "../../kernel/time";
import { type QuotaCounter, quotaCounterFor } from "../../platform/limiter/quota-counter";
import { clientPrefixes } from "./client-address";

/** What sizes a client's verify allowance: OTP_MAX_VERIFIES_PER_IP_PER_HOUR, scaled like its send limits. */
export interface VerifyAllowance {
  perIp: number;
  /** How long a verify counts before it lapses unless a wrong guess confirms it (verifyLapseMs). */
  lapseMs: number;
  /** The send limits whose ratios to the per-address one give shared keys (a /56, a /48, a carrier's address) more. */
  sendsPerIp: number;
  sendsPer56: number;
  sendsPer48: number;
  sendsPerCarrierIp: number;
  carrierAsns: readonly number[];
}

/** The VerifyAllowance of the settings: OTP_MAX_VERIFIES_PER_IP_PER_HOUR and the send limits it scales by. */
export function verifyAllowanceFrom(settings: Pick<Settings, "otp" | "clients" | "storageTimeoutMs">): VerifyAllowance {
  const { otp, clients } = settings;
  return {
    perIp: otp.maxVerifiesPerIpPerHour,
    lapseMs: verifyLapseMs(settings),
    sendsPerIp: otp.maxSendsPerIpPerHour,
    sendsPer56: clients.maxSendsPer56PerHour,
    sendsPer48: clients.maxSendsPer48PerHour,
    sendsPerCarrierIp: clients.maxSendsPerCarrierIpPerHour,
    carrierAsns: clients.carrierAsns,
  };
}

/** The verifies a client may make before it is refused, under one of its keys. */
export interface VerifyHold {
  /**
   * Takes a pending verify from every key of the client; resolves to the
   * refusal, or undefined when all took it. Left alone, the verify lapses
   * by itself after verifyLapseMs (a right code, an outage): no call gives
   * it back.
   */
  take(): Promise<ServiceError | undefined>;
  /** Counts the verify for its whole hour (a wrong guess), also when it has lapsed meanwhile. */
  confirm(): Promise<void>;
  /**
   * Gives the verify back at once; safe whatever take did. `late` (the
   * default) when the take passed its deadline: only then is the ticket
   * remembered by the counters, so the take arriving later takes nothing.
   */
  release(late?: boolean): Promise<void>;
}

/**
 * How long a verify's hold counts before it lapses by itself. It must
 * outlive everything between the hold's arrival and its confirm's: at most
 * four more storage calls of the verify (the id's own hold or, without an
 * id, the newest code's lookup; the number's object; a KV read; the object
 * again) and the confirm itself, each with its STORAGE_TIMEOUT_MS deadline,
 * so 5 of them, and one more for the work between. Then a burst of wrong
 * guesses is held by the limit while their confirms are on their way, and a
 * right code still frees its slot within half a minute (the default 30 s).
 * A confirm later still (the retry after a failed one) counts the guess
 * anyway (QuotaCounter.confirm), only past the limit for that moment.
 */
export function verifyLapseMs(settings: Pick<Settings, "storageTimeoutMs">): number {
  return 6 * settings.storageTimeoutMs;
}

/**
 * The per-client verify allowance, checked before any KV read or call on a
 * number's object, so guesses with made-up ids cost their sender, not the
 * service or the number's owner. Counted per address (an IPv6 client per
 * /64, /56 and /48, each /56 and /48 with more, in the ratio of their send
 * limits; an address of a carrier in CARRIER_ASNS, shared by many people,
 * with more in the ratio of OTP_MAX_SENDS_PER_CARRIER_IP_PER_HOUR). Each
 * verify is held pending and lapses by itself unless a wrong guess confirms
 * it, so only failed verifies use the allowance up and a right code costs
 * no call to give back.
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
      const results = await Promise.all(
        holds.map((h) => h.counter.hold(h.ticket, h.limit, HOUR_MS, allowance.lapseMs)),
      );
      const waits = results.flatMap((r) => (r.outcome === "refused" ? [r.retryAfterMs / 1000] : []));
      if (waits.length === 0) return undefined;
      // Refused: nothing stays counted under the keys that took it (and nothing is written under those that
      // refused), so a refused flood never extends the wait nor grows the counters.
      await Promise.all(
        holds.filter((_, i) => results[i]!.outcome === "taken").map((h) => h.counter.release(h.ticket, false)),
      );
      return verifyRefusal(Math.max(...waits));
    },
    async confirm() {
      await Promise.all(holds.map((h) => h.counter.confirm(h.ticket)));
    },
    async release(late = true) {
      await Promise.all(holds.map((h) => h.counter.release(h.ticket, late)));
    },
  };
}

/**
 * The tries one verification id gets once its client's address allowance is
 * spent: `limit` verifies per rolling hour under `verify-id:<id>` (the id is
 * checked to be real and fresh before this is taken), held pending and
 * lapsing like the address allowance unless a wrong guess confirms it.
 */
export function idQuota(
  ns: DurableObjectNamespace<QuotaCounter>,
  verificationId: string,
  limit: number,
  lapseMs: number,
): VerifyHold {
  const counter = quotaCounterFor(ns, `verify-id:${verificationId}`);
  const ticket = crypto.randomUUID();
  return {
    async take() {
      const result = await counter.hold(ticket, limit, HOUR_MS, lapseMs);
      return result.outcome === "taken" ? undefined : verifyRefusal(result.retryAfterMs / 1000);
    },
    confirm: () => counter.confirm(ticket),
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
