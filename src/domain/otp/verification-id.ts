import { base64url } from "jose";

const ID_BYTES = 16;
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * A new code's id, which the client gets as `verification_id`: 128 bits from
 * the Workers CSPRNG, base64url without padding (22 characters, URL-safe).
 * It names one code of one number; it is not a secret from the person who
 * asked for the code, and guessing another person's is hopeless (2^-128).
 */
export function newVerificationId(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(ID_BYTES)));
}

/** Whether `text` has the shape of an id this service makes (anything else names no code). */
export function isVerificationId(text: string): boolean {
  return ID_PATTERN.test(text);
}
