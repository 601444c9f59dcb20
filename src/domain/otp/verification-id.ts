import { base64url } from "jose";
import { derivedHmacKey } from "../../kernel/crypto/hmac-key";

const RANDOM_BYTES = 16;
const TAG_BYTES = 8;
const ID_PATTERN = /^[A-Za-z0-9_-]{32}$/;
const encoder = new TextEncoder();

/** A key of its own for ids, derived from OTP_HASH_SECRET, so ids need no secret of their own. */
const idKey = (secret: string) => derivedHmacKey(secret, "phone-otp verification id v1");

async function tagFor(secret: string, phone: string, random: Uint8Array): Promise<Uint8Array> {
  const message = new Uint8Array([...encoder.encode(`${phone}\n`), ...random]);
  const mac = await crypto.subtle.sign("HMAC", await idKey(secret), message);
  return new Uint8Array(mac).slice(0, TAG_BYTES);
}

/**
 * A new code's id, which the client gets as `verification_id`: 128 bits
 * from the Workers CSPRNG, then a 64-bit tag (HMAC-SHA-256 with a key
 * derived from OTP_HASH_SECRET, over the number and those bits);
 * base64url without padding (32 characters, URL-safe). It names one code of
 * one number; it is not a secret from the person who asked for the code,
 * and guessing another person's is hopeless (2^-128).
 *
 * The tag lets the service refuse a made-up id, or one of another number,
 * before it reads or counts anything: a flood of guesses with invented ids
 * costs no storage and uses up nobody's allowance.
 */
export async function newVerificationId(secret: string, phone: string): Promise<string> {
  const random = crypto.getRandomValues(new Uint8Array(RANDOM_BYTES));
  return base64url.encode(new Uint8Array([...random, ...(await tagFor(secret, phone, random))]));
}

/** Whether `text` is an id this service made for `phone` (its tag checked in constant time). */
export async function isVerificationIdOf(secret: string, phone: string, text: string): Promise<boolean> {
  if (!ID_PATTERN.test(text)) return false;
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(text);
  } catch {
    return false;
  }
  if (bytes.byteLength !== RANDOM_BYTES + TAG_BYTES) return false;
  const want = await tagFor(secret, phone, bytes.slice(0, RANDOM_BYTES));
  return crypto.subtle.timingSafeEqual(want, bytes.slice(RANDOM_BYTES));
}
