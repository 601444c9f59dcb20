/**
 * Domain layer: a code sealed for its fallback (src/domain/otp/). A fallback
 * message has to carry the very code the person already has, so the number's
 * object must be able to get the code back: a keyed hash (code-hash.ts) cannot
 * give it back, so the code is encrypted instead, with AES-256-GCM under a key
 * derived from OTP_HASH_SECRET with a label of its own, a random 12-byte IV,
 * and the number and code id as additional data (a sealed code opens only for
 * the code it was made for). Sealed: base64url of IV ‖ ciphertext ‖ tag.
 */
import { derivedAesKey } from "../../kernel/crypto/hmac-key";

const LABEL = "phone-otp fallback code v1";
const IV_BYTES = 12;
const encoder = new TextEncoder();

const additionalData = (e164: string, codeId: string) => encoder.encode(`${e164}\n${codeId}`);

export async function sealCode(secret: string, e164: string, codeId: string, code: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const key = await derivedAesKey(secret, LABEL);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: additionalData(e164, codeId) },
      key,
      encoder.encode(code),
    ),
  );
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return toBase64Url(out);
}

/** The code, or undefined when `sealed` was not made for this number and code id under this secret. */
export async function unsealCode(
  secret: string,
  e164: string,
  codeId: string,
  sealed: string,
): Promise<string | undefined> {
  try {
    const bytes = fromBase64Url(sealed);
    const key = await derivedAesKey(secret, LABEL);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES), additionalData: additionalData(e164, codeId) },
      key,
      bytes.subarray(IV_BYTES),
    );
    return new TextDecoder().decode(plain);
  } catch {
    return undefined;
  }
}

function toBase64Url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const raw = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}
