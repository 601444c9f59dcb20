import type { MiddlewareHandler } from "hono";
import { clientPrefixes } from "../../domain/guards/client-address";
import { sameSecret } from "../../kernel/crypto/hmac-key";
import { describeWait } from "../../kernel/describe-wait";
import { AdminUnauthorizedError, NotFoundError, RateLimitedError } from "../../kernel/errors/service-error";
import { HOUR_MS } from "../../kernel/time";
import { quotaCounterFor } from "../../platform/limiter/quota-counter";
import { storageCall } from "../../platform/storage-call";
import type { ConfiguredEnv } from "../core/app-env";

/**
 * Failed admin calls one client address may make in any rolling hour, counted
 * for an IPv4 address, and for an IPv6 address both at its /64 and its /48
 * (a home, an office or a free tunnel holds a whole /48: 65,536 /64s that
 * would otherwise each get their own 20 guesses). Past it, 429 for wrong tokens.
 */
export const ADMIN_FAILURES_PER_HOUR = 20;

/**
 * Constant-time equality of the presented token and ADMIN_TOKEN (kernel's
 * sameSecret: HMACs under a per-isolate random key), so neither the time
 * taken nor an early exit says how much of a guess was right, or how long
 * the token is.
 */
export const sameToken = sameSecret;

/**
 * Guards /admin and everything under it. Without ADMIN_TOKEN it does not exist
 * (404 not_found, as /dev/outbox with a real gateway). Otherwise every call
 * needs `Authorization: Bearer <ADMIN_TOKEN>`; missing or wrong is 401
 * admin_unauthorized with `WWW-Authenticate: Bearer`. Failed calls are counted
 * per client address (QuotaCounter `admin-fail:<client>`; for IPv6 under its
 * /64 and its /48 both); past ADMIN_FAILURES_PER_HOUR under any of its keys a
 * client's wrong tokens get 429 until the oldest failure there is an hour old,
 * so guessing gains nothing from speed or from spreading over one network. The right
 * token is never counted and never refused.
 * The token never reaches a log: request-log.ts logs no header.
 */
export function adminAuth(options: { page?: boolean } = {}): MiddlewareHandler<ConfiguredEnv> {
  return async function adminAuthMiddleware(c, next) {
    const admin = c.get("settings").admin;
    if (!admin) throw new NotFoundError("There is nothing at this address. See /docs for the API.");
    if (options.page) return next();
    const match = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "");
    const counters = clientPrefixes(c.req.header("cf-connecting-ip"))
      // A /56 lies inside its /48 and has the same limit: the /48 alone decides for both.
      .filter(({ prefix }) => prefix !== 56)
      .map(({ key }) => quotaCounterFor(c.env.QUOTA_COUNTER, `admin-fail:${key}`));
    const ticket = crypto.randomUUID();
    const storage = {
      timeoutMs: c.get("settings").storageTimeoutMs,
      background: (w: Promise<unknown>) => c.executionCtx.waitUntil(w),
    };
    // The right token always passes: only wrong ones are counted, so nobody sharing the operator's
    // address (a NAT, a /64, a /48) can lock the operator out by failing on purpose.
    if (match && (await sameToken(match[1]!, admin.token))) return next();
    const release = () => Promise.all(counters.map((counter) => counter.release(ticket))).then(() => undefined);
    const taken = await storageCall(
      storage,
      () => Promise.all(counters.map((counter) => counter.take(ticket, ADMIN_FAILURES_PER_HOUR, HOUR_MS))),
      release,
    );
    const refusals = taken.flatMap((t) => (t.outcome === "refused" ? [t.retryAfterMs] : []));
    if (refusals.length > 0) {
      // A refused call is counted under no key (as a refused take is not): give back what the others
      // took. Should that fail, those hits only run out with their hour.
      await Promise.all(
        counters.filter((_, i) => taken[i]!.outcome === "taken").map((counter) => counter.release(ticket, false)),
      ).catch(() => undefined);
      const seconds = Math.max(...refusals) / 1000;
      throw new RateLimitedError(
        `Too many failed admin calls from your network. Try again in ${describeWait(seconds)}.`,
        { retryAfter: seconds },
      );
    }
    throw new AdminUnauthorizedError('Send the admin token in the header "Authorization: Bearer <ADMIN_TOKEN>".');
  };
}
