/**
 * Codes are stored only as HMAC-SHA-256(OTP_HASH_SECRET, phone ‖ code id ‖ code).
 * Binding the phone and the code's id into the MAC means a stored hash is
 * useless for any other number or any other issued code. Checking uses
 * crypto.subtle.verify, which compares the MACs in constant time.
 */

import { base64url } from "jose";
import { hmacKey } from "../../kernel/crypto/hmac-key";
import { memoizeByString } from "../../kernel/memo";

const encoder = new TextEncoder();
const codeKey = memoizeByString((secret: string) => hmacKey(secret, ["sign", "verify"]));

function message(phone: string, codeId: string, code: string): Uint8Array {
  return encoder.encode(`otp:v1\n${phone}\n${codeId}\n${code}`);
}

/** The keyed hash to store, base64url-encoded. */
export async function hashCode(secret: string, phone: string, codeId: string, code: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await codeKey(secret), message(phone, codeId, code));
  return base64url.encode(new Uint8Array(mac));
}

/** True when `code` is the code that produced `storedHash`; constant time. */
export async function codeMatches(
  secret: string,
  phone: string,
  codeId: string,
  code: string,
  storedHash: string,
): Promise<boolean> {
  const mac = fromBase64Url(storedHash);
  if (!mac) return false;
  return crypto.subtle.verify("HMAC", await codeKey(secret), mac, message(phone, codeId, code));
}

function fromBase64Url(text: string): Uint8Array | undefined {
  try {
    return base64url.decode(text);
  } catch {
    return undefined;
  }
}
