/**
 * Refresh tokens: `rt2.<host id>.<session id>.<counter>.<secret>`.
 *
 * - rt2: the session lives in the number's PhoneLimiter; `rt1` tokens, made
 *   before the sessions moved there, name the number's SessionStore, and
 *   keep their version through every rotation.
 * - host id: the hex id of that object, `idFromName(e164)`, a keyed hash of
 *   the number that only this Worker's namespace can produce or resolve; it
 *   reveals nothing about the number and lets the Worker find the object
 *   without any lookup table.
 * - session id: 16 bytes, base64url: for `rt2`, 8 random bytes and an 8-byte
 *   keyed tag of them, the host id and the session's family secret
 *   (sessionIdTag), so a token whose session id or family secret was made
 *   up is refused in the Worker, before any call on the number's object
 *   (which also decides the number's codes): only the holder of a token
 *   really issued gets that far. `rt1` ones are 16 random bytes.
 * - counter: how many times the session has been refreshed.
 * - secret: base64url of 48 random bytes: a 16-byte family secret (the same
 *   for every token of the session, so an old token can be told from a forgery
 *   by someone who only knows the session id) and a 32-byte rotation secret
 *   (new on every refresh).
 *
 * The store keeps only HMAC-SHA-256 of the two secrets, keyed with a key
 * derived from OTP_HASH_SECRET and bound to the session id (and the counter).
 */

import { derivedHmacKey } from "../../kernel/crypto/hmac-key";

const encoder = new TextEncoder();
const FORMAT = /^rt([12])\.([0-9a-f]{64})\.([A-Za-z0-9_-]{22})\.(0|[1-9][0-9]{0,8})\.([A-Za-z0-9_-]{64})$/;
const FAMILY_BYTES = 16;
const ROTATION_BYTES = 32;

/** Where a token's session lives: 2, the number's PhoneLimiter; 1, its SessionStore (sessions made before). */
export type TokenVersion = 1 | 2;

export interface ParsedRefreshToken {
  version: TokenVersion;
  storeId: string;
  sessionId: string;
  counter: number;
  family: Uint8Array;
  rotation: Uint8Array;
}

/** The parts of a well-formed token, or undefined (a garbage token is a clean 401, never a 500). */
export function parseRefreshToken(token: string): ParsedRefreshToken | undefined {
  const m = FORMAT.exec(token);
  if (!m) return undefined;
  const secret = fromBase64Url(m[5]!);
  if (!secret || secret.byteLength !== FAMILY_BYTES + ROTATION_BYTES) return undefined;
  return {
    version: m[1] === "1" ? 1 : 2,
    storeId: m[2]!,
    sessionId: m[3]!,
    counter: Number(m[4]),
    family: secret.slice(0, FAMILY_BYTES),
    rotation: secret.slice(FAMILY_BYTES),
  };
}

export function newSessionId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

const TAG_BYTES = 8;

/** The 8-byte keyed tag of a session id's random half, its host (the number's PhoneLimiter) and its family secret. */
async function sessionIdTag(
  secret: string,
  hostId: string,
  random: Uint8Array,
  family: Uint8Array,
): Promise<Uint8Array> {
  const message = new Uint8Array([...encoder.encode(`session-id:v2\n${hostId}\n`), ...random, ...family]);
  const mac = await crypto.subtle.sign("HMAC", await sessionIdKey(secret), message);
  return new Uint8Array(mac).slice(0, TAG_BYTES);
}

/** A new session id for host `hostId` and the session's family secret: 8 random bytes, then their tag. */
export async function newTaggedSessionId(secret: string, hostId: string, family: Uint8Array): Promise<string> {
  const random = crypto.getRandomValues(new Uint8Array(16 - TAG_BYTES));
  return toBase64Url(new Uint8Array([...random, ...(await sessionIdTag(secret, hostId, random, family))]));
}

/**
 * Whether a token's session id carries the tag this Worker gave it, with the
 * token's host and family secret (compared in constant time), spelt the one
 * way this Worker spells it (base64url has 16 spellings of 16 bytes in 22
 * characters; only the canonical one passes).
 */
export async function hasSessionIdTag(
  secret: string,
  { storeId, sessionId, family }: Pick<ParsedRefreshToken, "storeId" | "sessionId" | "family">,
): Promise<boolean> {
  const bytes = fromBase64Url(sessionId);
  if (bytes?.byteLength !== 16 || toBase64Url(bytes) !== sessionId) return false;
  const expected = await sessionIdTag(secret, storeId, bytes.slice(0, 16 - TAG_BYTES), family);
  return crypto.subtle.timingSafeEqual(expected, bytes.slice(16 - TAG_BYTES));
}

export function newFamilySecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(FAMILY_BYTES));
}

export function newRotationSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(ROTATION_BYTES));
}

export function formatRefreshToken(
  version: TokenVersion,
  storeId: string,
  sessionId: string,
  counter: number,
  family: Uint8Array,
  rotation: Uint8Array,
): string {
  const secret = new Uint8Array(FAMILY_BYTES + ROTATION_BYTES);
  secret.set(family, 0);
  secret.set(rotation, FAMILY_BYTES);
  return `rt${version}.${storeId}.${sessionId}.${counter}.${toBase64Url(secret)}`;
}

/** The HMAC key for refresh tokens: HMAC(OTP_HASH_SECRET, label), so it never equals the code-hash key. */
const refreshKey = (secret: string) => derivedHmacKey(secret, "phone-otp refresh-token key v1");
/** The key of session ids' tags: never the refresh-token key, nor the code-hash key. */
const sessionIdKey = (secret: string) => derivedHmacKey(secret, "phone-otp session-id key v1");

async function mac(secret: string, label: string, parts: string[], bytes: Uint8Array): Promise<string> {
  const head = encoder.encode(`${label}\n${parts.join("\n")}\n`);
  const message = new Uint8Array(head.byteLength + bytes.byteLength);
  message.set(head, 0);
  message.set(bytes, head.byteLength);
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", await refreshKey(secret), message)));
}

export const familyHash = (secret: string, sessionId: string, family: Uint8Array) =>
  mac(secret, "refresh-family:v1", [sessionId], family);

export const rotationHash = (secret: string, sessionId: string, counter: number, rotation: Uint8Array) =>
  mac(secret, "refresh-rotation:v1", [sessionId, String(counter)], rotation);

function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | undefined {
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}
