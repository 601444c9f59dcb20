/**
 * Domain layer: where a number's refresh-token sessions live. Every session
 * starts in the number's PhoneLimiter, in the call that uses its code up
 * (`rt2` tokens); the sessions made before they moved there stay in the
 * number's SessionStore (`rt1` tokens) until they end or expire
 * (SESSION_MAX_AGE_SECONDS). Both keep them by the same rules
 * (src/platform/sessions/session-table.ts). Once no `rt1` session can be
 * live any more, the SessionStore and this split can go.
 */
import type { PhoneLimiter } from "../../platform/limiter/phone-limiter";
import { type SessionStore, sessionStoreFor } from "../../platform/sessions/session-store";
import type { SessionHostRpc } from "../../platform/sessions/session-types";
import type { ParsedRefreshToken } from "./refresh-token";

export interface SessionNamespaces {
  limiters: DurableObjectNamespace<PhoneLimiter>;
  stores: DurableObjectNamespace<SessionStore>;
}

/** The host of a number's new sessions, by its id: the number's PhoneLimiter (typed as limiterFor does, for the same reason). */
function limiterHost(ns: SessionNamespaces["limiters"], id: DurableObjectId): SessionHostRpc {
  return ns.get(id) as unknown as SessionHostRpc;
}

/** Both hosts of a number's sessions: `current` (its PhoneLimiter) and `legacy` (its SessionStore, `rt1` sessions). */
export function sessionHostsOf(
  ns: SessionNamespaces,
  e164: string,
): { current: SessionHostRpc; legacy: SessionHostRpc } {
  return {
    current: limiterHost(ns.limiters, ns.limiters.idFromName(e164)),
    legacy: sessionStoreFor(ns.stores, ns.stores.idFromName(e164)),
  };
}

/** The id a new session's tokens carry: the number's PhoneLimiter's. */
export function currentHostId(ns: SessionNamespaces, e164: string): string {
  return ns.limiters.idFromName(e164).toString();
}

/** The host a well-formed token names, or undefined when its id is not one of that namespace's. */
export function tokenHost(ns: SessionNamespaces, parsed: ParsedRefreshToken): SessionHostRpc | undefined {
  try {
    return parsed.version === 2
      ? limiterHost(ns.limiters, ns.limiters.idFromString(parsed.storeId))
      : sessionStoreFor(ns.stores, ns.stores.idFromString(parsed.storeId));
  } catch {
    return undefined;
  }
}
