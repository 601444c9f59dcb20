import type { PhoneLimiterRpc } from "./limiter-types";
import type { PhoneLimiter } from "./phone-limiter";

/**
 * The Durable Object for one E.164 number. PhoneLimiter implements
 * PhoneLimiterRpc, so the stub's type is tied to the class; the cast only
 * replaces workers-types' generic Rpc mapping, which does not narrow the
 * result unions well. The results are plain data.
 */
export function limiterFor(namespace: DurableObjectNamespace<PhoneLimiter>, e164: string): PhoneLimiterRpc {
  return namespace.getByName(e164) as unknown as PhoneLimiterRpc;
}
