import { env } from "cloudflare:workers";
import {
  familyHash,
  formatRefreshToken,
  newFamilySecret,
  newRotationSecret,
  newSessionId,
  rotationHash,
} from "../../src/domain/sessions/refresh-token";

/** wrangler.toml's session limits, as the Worker passes them. */
const LIMITS = { idleMs: 2_592_000_000, maxAgeMs: 7_776_000_000, maxPerNumber: 10, graceMs: 10_000 };

/**
 * A session as the Worker made them before sessions moved to the number's
 * PhoneLimiter: in the number's SessionStore, with an `rt1` refresh token
 * naming that store (what a deployment upgraded to this version still has).
 */
export async function legacySession(phone: string): Promise<{ sessionId: string; refreshToken: string }> {
  const secret = (env as unknown as { OTP_HASH_SECRET: string }).OTP_HASH_SECRET;
  const id = env.SESSION_STORE.idFromName(phone);
  const sessionId = newSessionId();
  const family = newFamilySecret();
  const rotation = newRotationSecret();
  const refreshToken = formatRefreshToken(1, id.toString(), sessionId, 0, family, rotation);
  const session = {
    sessionId,
    familyHash: await familyHash(secret, sessionId, family),
    first: { token: refreshToken, counter: 0, secretHash: await rotationHash(secret, sessionId, 0, rotation) },
    client: null,
  };
  await env.SESSION_STORE.get(id).create(phone, session, LIMITS);
  return { sessionId, refreshToken };
}

/** Limits for a store driven directly: an hour's sessions, `maxPerNumber` of them. */
export const storeLimits = (maxPerNumber: number) => ({
  idleMs: 3_600_000,
  maxAgeMs: 3_600_000,
  maxPerNumber,
  graceMs: 10_000,
});

/** A session to create in a store driven directly (no real token): its hashes are plain labels of its id. */
export const storeSession = (id: string) => ({
  sessionId: id,
  familyHash: `family-${id}`,
  first: { token: `token-${id}`, counter: 0, secretHash: `hash-${id}` },
  client: null,
});
