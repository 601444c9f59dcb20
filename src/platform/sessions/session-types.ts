/** What the Worker passes to a number's SessionStore, and what it answers. Plain data, so it crosses RPC as is. */

export interface SessionLimits {
  /** Idle lifetime (REFRESH_TOKEN_TTL_SECONDS) in ms. */
  idleMs: number;
  /** Absolute lifetime (SESSION_MAX_AGE_SECONDS) in ms. */
  maxAgeMs: number;
  /** SESSIONS_MAX_PER_NUMBER. */
  maxPerNumber: number;
  /** REFRESH_REUSE_GRACE_SECONDS in ms. */
  graceMs: number;
}

/**
 * A refresh token as the store sees it: never the token itself, only its
 * session, its counter and keyed hashes (HMAC-SHA-256, made in the Worker) of
 * its two secret parts: the family secret, the same for every token of the
 * session, and the rotation secret, new on every refresh.
 */
export interface PresentedToken {
  sessionId: string;
  counter: number;
  familyHash: string;
  secretHash: string;
}

/** A freshly issued token for the store to keep: the string (only while it may be handed back) and its hashes. */
export interface IssuedToken {
  token: string;
  counter: number;
  secretHash: string;
}

export interface NewSession {
  sessionId: string;
  familyHash: string;
  first: IssuedToken;
  /** A coarse description of the client ("Chrome on Android"), never the raw header. */
  client: string | null;
}

export type CreateResult = { e164: string; expiresAt: number; ended: number };

export type RefreshResult =
  /** Rotated: `issued` is the successor the Worker built, now current. */
  | { outcome: "rotated"; e164: string; refreshToken: string; expiresAt: number }
  /** The immediately previous token again within the grace window: the same successor. */
  | { outcome: "retried"; e164: string; refreshToken: string; expiresAt: number }
  /** Unknown, expired, or a forgery: nothing changed (`gone`: no session has this id here). */
  | { outcome: "invalid"; gone?: true }
  /** An authentic token used again outside the window: the session has ended. */
  | { outcome: "reused"; e164: string };

export interface SessionInfo {
  id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  client: string | null;
}

/**
 * What a host of a number's sessions answers: the number's PhoneLimiter, and
 * SessionStore for the sessions made before they moved there (`rt1` tokens).
 * Both keep them with the rules of session-table.ts.
 */
export interface SessionHostRpc {
  refresh(presented: PresentedToken, successor: IssuedToken, limits: SessionLimits): Promise<RefreshResult>;
  undoRefresh(sessionId: string, successorHash: string): Promise<void>;
  /** The number of the session it ended, or null when none did. */
  logout(sessionId: string, familyHash: string): Promise<string | null>;
  /** `caller`: the session of the access token asking (null: none checked); null answers mean it has ended. */
  endAll(caller: string | null): Promise<string[] | null>;
  /** Every session but the caller's ends, in one step that checks the caller's is live; null when it has ended. */
  endOthers(caller: string): Promise<string[] | null>;
  end(sessionId: string, caller: string | null): Promise<"ended" | "not_found" | "caller_ended">;
  list(caller: string | null): Promise<SessionInfo[] | null>;
  /** Whether the session is live here. */
  has(sessionId: string): Promise<boolean>;
  /** Operator: how many live sessions the number has here. */
  count(): Promise<number>;
  /** Operator: ends every session of the number here, with no caller to check; the ids that ended. */
  adminEndAll(): Promise<string[]>;
}

/** The SessionStore's RPC surface: the class implements it and the Worker's stub is typed by it. */
export interface SessionStoreRpc extends SessionHostRpc {
  create(e164: string, session: NewSession, limits: SessionLimits): Promise<CreateResult>;
  /** Takes back a create answered too late: ends that session and restores the sessions it evicted. */
  undoCreate(sessionId: string): Promise<void>;
}

/** A session to start in the same call that uses a code up (PhoneLimiter.recordAttempt). */
export interface SessionRequest {
  e164: string;
  session: NewSession;
  limits: SessionLimits;
}
