import type { Settings } from "../../kernel/config/settings";
import { InvalidRefreshTokenError, RateLimitedError, SessionNotFoundError } from "../../kernel/errors/service-error";
import { describeWait } from "../../kernel/describe-wait";
import { HOUR_MS } from "../../kernel/time";
import { quotaCounterFor, type QuotaCounter } from "../../platform/limiter/quota-counter";
import { storageCall, type StorageCallOptions } from "../../platform/storage-call";
import {
  familyHash,
  formatRefreshToken,
  newFamilySecret,
  newRotationSecret,
  newSessionId,
  parseRefreshToken,
  rotationHash,
  type ParsedRefreshToken,
} from "./refresh-token";
import type { SessionStore } from "../../platform/sessions/session-store";
import type { IssuedToken, NewSession, SessionInfo, SessionLimits, SessionStoreRpc } from "../../platform/sessions/session-types";

/** What the session rules need from the outside world. */
export interface SessionDeps {
  settings: Settings;
  stores: DurableObjectNamespace<SessionStore>;
  quotas: DurableObjectNamespace<QuotaCounter>;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  background: (work: Promise<unknown>) => void;
}

/** The number's store, typed by the class's RPC surface (see limiter-for.ts for why the cast). */
const stub = (ns: DurableObjectNamespace<SessionStore>, id: DurableObjectId) => ns.get(id) as unknown as SessionStoreRpc;

const storageOptions = (deps: SessionDeps): StorageCallOptions => ({
  timeoutMs: deps.settings.storageTimeoutMs,
  background: deps.background,
});

function limitsOf(settings: Settings): SessionLimits {
  const s = settings.sessions;
  return {
    idleMs: s.refreshTtlSeconds * 1000,
    maxAgeMs: s.maxAgeSeconds * 1000,
    maxPerNumber: s.maxPerNumber,
    graceMs: s.reuseGraceSeconds * 1000,
  };
}

const secondsUntil = (at: number) => Math.max(0, Math.round((at - Date.now()) / 1000));

export interface IssuedSession {
  sessionId: string;
  refreshToken: string;
  refreshExpiresIn: number;
}

/** Starts a session for a number that just proved possession; the first refresh token. */
export async function createSession(deps: SessionDeps, e164: string, client: string | null): Promise<IssuedSession> {
  const { settings } = deps;
  const id = deps.stores.idFromName(e164);
  const sessionId = newSessionId();
  const family = newFamilySecret();
  const rotation = newRotationSecret();
  const token = formatRefreshToken(id.toString(), sessionId, 0, family, rotation);
  const session: NewSession = {
    sessionId,
    familyHash: await familyHash(settings.otp.hashSecret, sessionId, family),
    first: { token, counter: 0, secretHash: await rotationHash(settings.otp.hashSecret, sessionId, 0, rotation) },
    client,
  };
  const store = stub(deps.stores, id);
  // A session created too late for its answer holds a token nobody received: end it.
  const created = await storageCall(
    storageOptions(deps),
    () => store.create(e164, session, limitsOf(settings)),
    async () => {
      await store.end(sessionId);
    },
  );
  return { sessionId, refreshToken: token, refreshExpiresIn: secondsUntil(created.expiresAt) };
}

/** The store a well-formed token points at, or undefined when the id is not one of this namespace's. */
function storeIdOf(ns: DurableObjectNamespace<SessionStore>, parsed: ParsedRefreshToken): DurableObjectId | undefined {
  try {
    return ns.idFromString(parsed.storeId);
  } catch {
    return undefined;
  }
}

const invalid = () =>
  new InvalidRefreshTokenError("This refresh token is not valid (unknown, expired, ended or already used). Sign in again.");

/**
 * Rotates a refresh token. Limited per client address first (a sprayed
 * stolen token is not free), then one atomic call to the number's store.
 */
export async function refreshSession(
  deps: SessionDeps,
  refreshToken: string,
  client: string,
): Promise<{ e164: string; sessionId: string; refreshToken: string; refreshExpiresIn: number }> {
  const { settings } = deps;
  // No undo for a late rotation: the presented token is then the previous one, and a retry within the grace window gets the successor.
  const storage = <T>(op: () => Promise<T>) => storageCall(storageOptions(deps), op);
  await storage(() => takeRefreshQuota(deps.quotas, client, settings.sessions.maxRefreshesPerIpPerHour));

  const parsed = parseRefreshToken(refreshToken);
  const id = parsed && storeIdOf(deps.stores, parsed);
  if (!parsed || !id) throw invalid();
  const secret = settings.otp.hashSecret;
  const nextRotation = newRotationSecret();
  const nextCounter = parsed.counter + 1;
  const [fh, sh, nh] = await Promise.all([
    familyHash(secret, parsed.sessionId, parsed.family),
    rotationHash(secret, parsed.sessionId, parsed.counter, parsed.rotation),
    rotationHash(secret, parsed.sessionId, nextCounter, nextRotation),
  ]);
  const successor: IssuedToken = {
    token: formatRefreshToken(parsed.storeId, parsed.sessionId, nextCounter, parsed.family, nextRotation),
    counter: nextCounter,
    secretHash: nh,
  };
  const result = await storage(() =>
    stub(deps.stores, id).refresh({ sessionId: parsed.sessionId, counter: parsed.counter, familyHash: fh, secretHash: sh }, successor, limitsOf(settings)),
  );
  if (result.outcome === "reused") {
    console.log(JSON.stringify({ event: "session.reuse_detected" }));
    throw invalid();
  }
  if (result.outcome === "invalid") throw invalid();
  return {
    e164: result.e164,
    sessionId: parsed.sessionId,
    refreshToken: result.refreshToken,
    refreshExpiresIn: secondsUntil(result.expiresAt),
  };
}

/** Ends the session of a refresh token. Idempotent: an ended or unknown session is not an error (RFC 7009 §2.2). */
export async function logout(deps: SessionDeps, refreshToken: string): Promise<void> {
  const parsed = parseRefreshToken(refreshToken);
  const id = parsed && storeIdOf(deps.stores, parsed);
  if (!parsed || !id) throw invalid();
  const fh = await familyHash(deps.settings.otp.hashSecret, parsed.sessionId, parsed.family);
  await storageCall(storageOptions(deps), () => stub(deps.stores, id).logout(parsed.sessionId, fh));
}

export async function logoutAll(deps: SessionDeps, e164: string): Promise<void> {
  await storageCall(storageOptions(deps), () => stub(deps.stores, deps.stores.idFromName(e164)).endAll());
}

export async function listSessions(deps: SessionDeps, e164: string): Promise<SessionInfo[]> {
  return storageCall(storageOptions(deps), () => stub(deps.stores, deps.stores.idFromName(e164)).list());
}

export async function endSession(deps: SessionDeps, e164: string, sessionId: string): Promise<void> {
  const ended = await storageCall(storageOptions(deps), () =>
    stub(deps.stores, deps.stores.idFromName(e164)).end(sessionId),
  );
  if (!ended) throw new SessionNotFoundError("There is no session with this id for your number.");
}

/** REFRESH_MAX_PER_IP_PER_HOUR refreshes per client address, counted exactly (QuotaCounter `refresh-ip:<client>`). */
async function takeRefreshQuota(ns: DurableObjectNamespace<QuotaCounter>, client: string, limit: number): Promise<void> {
  const result = await quotaCounterFor(ns, `refresh-ip:${client}`).take(crypto.randomUUID(), limit, HOUR_MS);
  if (result.outcome === "refused") {
    const seconds = result.retryAfterMs / 1000;
    throw new RateLimitedError(`Too many token refreshes from your network. Try again in ${describeWait(seconds)}.`, {
      retryAfter: seconds,
    });
  }
}
