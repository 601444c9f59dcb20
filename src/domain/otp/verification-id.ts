import { base64url } from "jose";
import { derivedHmacKey } from "../../kernel/crypto/hmac-key";

const RANDOM_BYTES = 16;
const TIME_BYTES = 4;
const TAG_BYTES = 8;
const ID_BYTES = RANDOM_BYTES + TIME_BYTES + TAG_BYTES;
const ID_PATTERN = /^[A-Za-z0-9_-]{38}$/;
/** How far a client's clock-free id may be from ours: ids come from this service, so only its own skew matters. */
const SKEW_SECONDS = 60;
const encoder = new TextEncoder();

/** A key of its own for ids, derived from OTP_HASH_SECRET, so ids need no secret of their own. */
const idKey = (secret: string) => derivedHmacKey(secret, "phone-otp verification id v1");

async function tagFor(secret: string, phone: string, body: Uint8Array): Promise<Uint8Array> {
  const message = new Uint8Array([...encoder.encode(`${phone}\n`), ...body]);
  const mac = await crypto.subtle.sign("HMAC", await idKey(secret), message);
  return new Uint8Array(mac).slice(0, TAG_BYTES);
}

/**
 * A new code's id, which the client gets as `verification_id`: 128 bits
 * from the Workers CSPRNG and the time it was made (seconds, 32 bits), then
 * a 64-bit tag (HMAC-SHA-256 with a key derived from OTP_HASH_SECRET, over
 * the number and both); base64url without padding (38 characters,
 * URL-safe). It names one code of one number; it is not a secret from the
 * person who asked for the code, and guessing another person's is hopeless
 * (2^-128).
 *
 * The tag lets the service refuse a made-up id, one of another number, or
 * one older than its code can be, before it reads or counts anything: a
 * flood of guesses with invented or stale ids costs no storage and uses up
 * nobody's allowance.
 */
export async function newVerificationId(secret: string, phone: string, now = Date.now()): Promise<string> {
  const body = new Uint8Array(RANDOM_BYTES + TIME_BYTES);
  body.set(crypto.getRandomValues(new Uint8Array(RANDOM_BYTES)));
  new DataView(body.buffer).setUint32(RANDOM_BYTES, Math.floor(now / 1000));
  return base64url.encode(new Uint8Array([...body, ...(await tagFor(secret, phone, body))]));
}

/**
 * Whether `text` is an id this service made for `phone` (its tag checked in
 * constant time) and, with `maxAgeSeconds`, made no longer ago than that.
 */
export async function isVerificationIdOf(
  secret: string,
  phone: string,
  text: string,
  maxAgeSeconds?: number,
  now = Date.now(),
): Promise<boolean> {
  if (!ID_PATTERN.test(text)) return false;
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(text);
  } catch {
    return false;
  }
  if (bytes.byteLength !== ID_BYTES) return false;
  const body = bytes.slice(0, RANDOM_BYTES + TIME_BYTES);
  const want = await tagFor(secret, phone, body);
  if (!crypto.subtle.timingSafeEqual(want, bytes.slice(RANDOM_BYTES + TIME_BYTES))) return false;
  if (maxAgeSeconds === undefined) return true;
  const madeAt = new DataView(body.buffer).getUint32(RANDOM_BYTES);
  const age = Math.floor(now / 1000) - madeAt;
  return age >= -SKEW_SECONDS && age <= maxAgeSeconds + SKEW_SECONDS;
}
