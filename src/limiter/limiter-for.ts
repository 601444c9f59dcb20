import type { AttemptOutcome, AttemptLimits, PendingCode, SendLimits, SendReservation } from "./limiter-types";
import type { PhoneLimiter } from "./phone-limiter";

/** The PhoneLimiter RPC surface the Worker calls. */
export interface LimiterStub {
  reserveSend(limits: SendLimits): Promise<SendReservation>;
  releaseSend(codeId: string): Promise<void>;
  cancelCode(codeId: string): Promise<void>;
  pendingCode(limits: AttemptLimits): Promise<PendingCode>;
  recordAttempt(codeId: string, matched: boolean, limits: AttemptLimits): Promise<AttemptOutcome>;
}

/**
 * The Durable Object for one E.164 number. The results are plain data, so the
 * stub's RPC promises resolve to exactly these types; the cast only replaces
 * workers-types' generic Rpc mapping, which does not narrow unions well.
 */
export function limiterFor(namespace: DurableObjectNamespace<PhoneLimiter>, e164: string): LimiterStub {
  return namespace.getByName(e164) as unknown as LimiterStub;
}
