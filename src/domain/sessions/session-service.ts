/**
 * Domain layer: the session rules (src/domain/sessions/). Refresh tokens are
 * made and parsed in refresh-token.ts; each number's sessions live in its
 * PhoneLimiter (session-hosts.ts; `rt1` ones in its SessionStore), which
 * decides every rotation in one atomic call. A session starts in the verify's
 * own call on the number's object (prepareSession, then issuedSession). The
 * routes in src/http/routes/ call the functions below.
 */
import type { Settings } from "../../kernel/config/settings";
import { describeWait } from "../../kernel/describe-wait";
import {
  InvalidRefreshTokenError,
  InvalidTokenError,
  RateLimitedError,
  SessionNotFoundError,
} from "../../kernel/errors/service-error";
import { log } from "../../kernel/log/log";
import { HOUR_MS } from "../../kernel/time";
import type { PhoneLimiter } from "../../platform/limiter/phone-limiter";
import { type QuotaCounter, quotaCounterFor } from "../../platform/limiter/quota-counter";
import type { SessionStore } from "../../platform/sessions/session-store";
import type {
  CreateResult,
  IssuedToken,
  NewSession,
  SessionInfo,
  SessionLimits,
  SessionRequest,
} from "../../platform/sessions/session-types";
import { type StorageCallOptions, storageCall } from "../../platform/storage-call";
import { type EventDeps, emitEvent, emitEvents, sessionsEnded } from "../events/app-events";
import {
  familyHash,
  formatRefreshToken,
  hasSessionIdTag,
  newFamilySecret,
  newRotationSecret,
  newTaggedSessionId,
  type ParsedRefreshToken,
  parseRefreshToken,
  rotationHash,
} from "./refresh-token";
import { currentHostId, sessionHostsOf, tokenHost } from "./session-hosts";

/** What the session rules need from the outside world. */
export interface SessionDeps {
  settings: Settings;
  /** Where sessions start and live: each number's PhoneLimiter. */
  limiters: DurableObjectNamespace<PhoneLimiter>;
  /** Where the sessions made before that live (`rt1` tokens): each number's SessionStore. */
  stores: DurableObjectNamespace<SessionStore>;
  quotas: DurableObjectNamespace<QuotaCounter>;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  background: (work: Promise<unknown>) => void;
  /** Where the app's events go (EVENTS_QUEUE), when it has any (domain/events). */
  events?: EventDeps["events"];
}

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

/** A session made ready for a verify: the number's PhoneLimiter starts it in the call that uses the code up. */
export interface PreparedSession {
  request: SessionRequest;
  sessionId: string;
  refreshToken: string;
}

/** The session a right code will start for the number, and its first refresh token (nothing is stored yet). */
export async function prepareSession(
  deps: Pick<SessionDeps, "settings" | "limiters" | "stores">,
  e164: string,
  client: string | null,
): Promise<PreparedSession> {
  const { settings } = deps;
  const hostId = currentHostId(deps, e164);
  const family = newFamilySecret();
  const sessionId = await newTaggedSessionId(settings.otp.hashSecret, hostId, family);
  const rotation = newRotationSecret();
  const token = formatRefreshToken(2, hostId, sessionId, 0, family, rotation);
  const [fh, rh] = await Promise.all([
    familyHash(settings.otp.hashSecret, sessionId, family),
    rotationHash(settings.otp.hashSecret, sessionId, 0, rotation),
  ]);
  const session: NewSession = { sessionId, familyHash: fh, first: { token, counter: 0, secretHash: rh }, client };
  return { request: { e164, session, limits: limitsOf(settings) }, sessionId, refreshToken: token };
}

/** A prepared session that the verify started, as the client gets it: its first refresh token. */
export function issuedSession(prepared: PreparedSession, created: CreateResult): IssuedSession {
  return {
    sessionId: prepared.sessionId,
    refreshToken: prepared.refreshToken,
    refreshExpiresIn: secondsUntil(created.expiresAt),
  };
}

/** Tells the app's backend of a session the client got (once its tokens are signed). */
export function announceSession(
  deps: Pick<SessionDeps, "settings" | "events" | "background">,
  e164: string,
  session: IssuedSession,
): void {
  emitEvent(deps, "session.created", { phone: e164, session_id: session.sessionId });
}

/**
 * The parts of a token this Worker could have issued: well-formed and, for
 * an `rt2` token, a session id with its host's tag. A made-up session id is
 * refused here, so forged tokens never reach the number's object, which also
 * decides its codes.
 */
async function wellFormed(deps: Pick<SessionDeps, "settings">, token: string): Promise<ParsedRefreshToken | undefined> {
  const parsed = parseRefreshToken(token);
  if (!parsed) return undefined;
  if (parsed.version === 1) return parsed;
  return (await hasSessionIdTag(deps.settings.otp.hashSecret, parsed)) ? parsed : undefined;
}

const invalid = () =>
  new InvalidRefreshTokenError(
    "This refresh token is not valid (unknown, expired, ended or already used). Sign in again.",
  );

/**
 * Rotates a refresh token: one atomic call to the number's store. Only a
 * refresh that fails counts against the client address (a sprayed or guessed
 * token is not free); a valid token, or a retry answered with its successor,
 * never touches that allowance, so a neighbour behind the same address who
 * floods bad tokens cannot stop anyone else's refresh.
 */
export async function refreshSession(
  deps: SessionDeps,
  refreshToken: string,
  client: string,
): Promise<{ e164: string; sessionId: string; refreshToken: string; refreshExpiresIn: number }> {
  const { settings } = deps;
  const parsed = await wellFormed(deps, refreshToken);
  const store = parsed && tokenHost(deps, parsed);
  // Malformed, made up, not one of this namespace's stores, or a session this isolate saw gone: refused
  // without asking any store.
  if (!parsed || !store || knownGone(parsed)) return await refuseFailed(deps, client);
  const secret = settings.otp.hashSecret;
  const nextRotation = newRotationSecret();
  const nextCounter = parsed.counter + 1;
  const [fh, sh, nh] = await Promise.all([
    familyHash(secret, parsed.sessionId, parsed.family),
    rotationHash(secret, parsed.sessionId, parsed.counter, parsed.rotation),
    rotationHash(secret, parsed.sessionId, nextCounter, nextRotation),
  ]);
  const successor: IssuedToken = {
    token: formatRefreshToken(
      parsed.version,
      parsed.storeId,
      parsed.sessionId,
      nextCounter,
      parsed.family,
      nextRotation,
    ),
    counter: nextCounter,
    secretHash: nh,
  };
  // A rotation whose answer comes too late is taken back, so the presented token still works after a 503
  // (however late the retry); a 503 counts as no failure.
  const result = await storageCall(
    storageOptions(deps),
    () =>
      store.refresh(
        { sessionId: parsed.sessionId, counter: parsed.counter, familyHash: fh, secretHash: sh },
        successor,
        limitsOf(settings),
      ),
    () => store.undoRefresh(parsed.sessionId, nh),
  );
  if (result.outcome === "reused") {
    log("session.reuse_detected", {});
    emitEvents(deps, sessionsEnded(result.e164, [parsed.sessionId], "reuse_detected"));
    return await refuseFailed(deps, client);
  }
  if (result.outcome === "invalid") {
    if (result.gone) rememberGone(parsed);
    return await refuseFailed(deps, client);
  }
  return {
    e164: result.e164,
    sessionId: parsed.sessionId,
    refreshToken: result.refreshToken,
    refreshExpiresIn: secondsUntil(result.expiresAt),
  };
}

/** Ends the session of a refresh token. Idempotent: an ended or unknown session is not an error (RFC 7009 §2.2). */
export async function logout(deps: SessionDeps, refreshToken: string): Promise<void> {
  const parsed = await wellFormed(deps, refreshToken);
  const store = parsed && tokenHost(deps, parsed);
  if (!parsed || !store) throw invalid();
  if (knownGone(parsed)) return;
  const fh = await familyHash(deps.settings.otp.hashSecret, parsed.sessionId, parsed.family);
  const e164 = await storageCall(storageOptions(deps), () => store.logout(parsed.sessionId, fh));
  if (e164 !== null) emitEvents(deps, sessionsEnded(e164, [parsed.sessionId], "logout"));
  // Ended now, or (an rt2 token that got this far has its real family secret: its tag) there was no such session.
  rememberGone(parsed);
}

/**
 * Per isolate: `rt2` sessions the number's object said it has no session
 * for (ended, expired), for GONE_TRUST_MS: the replays of a token someone
 * once held then cost no call on the number's object, which also decides
 * its codes. A token that got that far carried its session's real family
 * secret (the session id's tag), so "gone" is about the session, never a
 * wrong guess; the rare session a late create's undo brings back is
 * refused here for at most that long.
 */
const gone = new Map<string, number>();
const GONE_TRUST_MS = 60_000;
const GONE_MAX_ENTRIES = 10_000;

const goneKey = (parsed: ParsedRefreshToken) => `${parsed.storeId}.${parsed.sessionId}`;

function knownGone(parsed: ParsedRefreshToken, now = Date.now()): boolean {
  if (parsed.version !== 2) return false;
  const until = gone.get(goneKey(parsed));
  if (until === undefined) return false;
  if (until > now) return true;
  gone.delete(goneKey(parsed));
  return false;
}

function rememberGone(parsed: ParsedRefreshToken, now = Date.now()): void {
  if (parsed.version !== 2) return;
  if (gone.size >= GONE_MAX_ENTRIES) gone.clear();
  gone.set(goneKey(parsed), now + GONE_TRUST_MS);
}

/** Who manages the sessions: the access token's number and session (`sid`), which must still be live. */
export interface Caller {
  e164: string;
  sessionId: string | undefined;
}

/** An access token whose session has ended (or that names none) may not manage the number's sessions. */
const endedCaller = () => new InvalidTokenError("This access token's session has ended. Sign in again.");

function callerSession(caller: Caller): string {
  if (caller.sessionId === undefined) throw endedCaller();
  return caller.sessionId;
}

/**
 * Ends every session of the caller's number, in both its hosts: first every
 * other session of the caller's own host, in the step that checks the
 * caller's is live (so no session there can end the caller's meanwhile);
 * then the other host's; the caller's own last. A failure half-way leaves
 * the caller signed in, and its retry finishes the job; whatever did end is
 * told to the app's backend either way.
 */
export async function logoutAll(deps: SessionDeps, caller: Caller): Promise<void> {
  const sid = callerSession(caller);
  const { current, legacy } = sessionHostsOf(deps, caller.e164);
  const options = storageOptions(deps);
  const [inCurrent, inLegacy] = await storageCall(options, () => Promise.all([current.has(sid), legacy.has(sid)]));
  if (!inCurrent && !inLegacy) throw endedCaller();
  const [own, other] = inCurrent ? [current, legacy] : [legacy, current];
  const ended = (ids: readonly string[]) => emitEvents(deps, sessionsEnded(caller.e164, ids, "logout_all"));
  const others = await storageCall(options, () => own.endOthers(sid));
  if (others === null) throw endedCaller();
  ended(others);
  ended((await storageCall(options, () => other.endAll(null))) ?? []);
  if ((await storageCall(options, () => own.end(sid, null))) === "ended") ended([sid]);
}

/** The number's live sessions in both hosts, most recently used first, while the caller's own is one of them. */
export async function listSessions(deps: SessionDeps, caller: Caller): Promise<SessionInfo[]> {
  const sid = callerSession(caller);
  const { current, legacy } = sessionHostsOf(deps, caller.e164);
  const [here, there] = await storageCall(storageOptions(deps), () =>
    Promise.all([current.list(null), legacy.list(null)]),
  );
  const sessions = [...(here ?? []), ...(there ?? [])].sort(
    (a, b) => b.last_used_at - a.last_used_at || b.created_at - a.created_at,
  );
  if (!sessions.some((s) => s.id === sid)) throw endedCaller();
  return sessions;
}

/** Ends one session of the caller's number (in whichever host it is), while the caller's own session is live. */
export async function endSession(deps: SessionDeps, caller: Caller, sessionId: string): Promise<void> {
  const sid = callerSession(caller);
  const { current, legacy } = sessionHostsOf(deps, caller.e164);
  const options = storageOptions(deps);
  const live = await storageCall(options, () => Promise.all([current.has(sid), legacy.has(sid)]));
  if (!live.includes(true)) throw endedCaller();
  // In both hosts at once (it is in one of them at most); an end that did happen is told even if the other failed.
  const ends = await Promise.allSettled(
    [current, legacy].map((host) => storageCall(options, () => host.end(sessionId, null))),
  );
  const ended = ends.some((e) => e.status === "fulfilled" && e.value === "ended");
  if (ended) emitEvents(deps, sessionsEnded(caller.e164, [sessionId], "logout"));
  const failed = ends.find((e) => e.status === "rejected");
  if (failed) throw failed.reason;
  if (!ended) throw new SessionNotFoundError("There is no session with this id for your number.");
}

/**
 * A failed refresh (malformed, unknown, expired, ended or reused token):
 * counted against the client address, REFRESH_MAX_PER_IP_PER_HOUR failures
 * in any rolling hour, exactly (QuotaCounter `refresh-fail:<client>`).
 * Within the allowance it answers 401; past it, 429 with Retry-After.
 *
 * An isolate that saw the address refused trusts that for up to 30 s and
 * answers 429 without asking the counter again: a flood past the allowance
 * then costs no storage at all when its tokens are malformed, and one store
 * call (the check that a valid token still needs) when they are not.
 */
async function refuseFailed(deps: SessionDeps, client: string): Promise<never> {
  const limit = deps.settings.sessions.maxRefreshesPerIpPerHour;
  const key = `refresh-fail:${client}`;
  const now = Date.now();
  const known = refusedUntil(key, limit, now);
  if (known !== undefined) throw tooManyFailures(known - now);
  const quota = quotaCounterFor(deps.quotas, key);
  const ticket = crypto.randomUUID();
  const result = await storageCall(
    storageOptions(deps),
    () => quota.take(ticket, limit, HOUR_MS),
    () => quota.release(ticket),
  );
  if (result.outcome === "refused") {
    rememberRefused(key, limit, now + result.retryAfterMs, now);
    throw tooManyFailures(result.retryAfterMs);
  }
  throw invalid();
}

function tooManyFailures(retryAfterMs: number): RateLimitedError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new RateLimitedError(
    `Too many failed token refreshes from your network. Try again in ${describeWait(seconds)}.`,
    { retryAfter: seconds },
  );
}

/** Per isolate: the addresses whose failure allowance refused, under which limit, and until when. */
const refused = new Map<string, { limit: number; until: number; trustUntil: number }>();
const REFUSED_MAX_ENTRIES = 10_000;
/** How long an isolate trusts a refusal it remembers before it asks the counter again. */
const REFUSED_TRUST_MS = 30_000;

function refusedUntil(key: string, limit: number, now: number): number | undefined {
  const memo = refused.get(key);
  if (memo === undefined) return undefined;
  if (memo.limit === limit && memo.until > now && memo.trustUntil > now) return memo.until;
  refused.delete(key);
  return undefined;
}

function rememberRefused(key: string, limit: number, until: number, now: number): void {
  if (refused.size >= REFUSED_MAX_ENTRIES) {
    for (const [k, m] of refused) if (m.trustUntil <= now) refused.delete(k);
    if (refused.size >= REFUSED_MAX_ENTRIES) refused.clear();
  }
  refused.set(key, { limit, until, trustUntil: Math.min(until, now + REFUSED_TRUST_MS) });
}
