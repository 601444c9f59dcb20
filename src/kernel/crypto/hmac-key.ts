/**
 * HMAC-SHA-256 keys, the one way this service makes them. A secret is keyed
 * by its UTF-8 bytes; a derived key is HMAC(secret, label) imported as a key
 * of its own, so one secret (OTP_HASH_SECRET) yields keys that never equal
 * each other or the secret's own key. The labels are part of every stored
 * hash and issued id: changing one invalidates them all.
 */

import { memoizeByString } from "../memo";

const encoder = new TextEncoder();
const HMAC_SHA256 = { name: "HMAC", hash: "SHA-256" } as const;

/** An HMAC-SHA-256 key whose bytes are `secret` (UTF-8), not memoized. */
export function hmacKey(secret: string, usages: ("sign" | "verify")[] = ["sign"]): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), HMAC_SHA256, false, usages);
}

const byLabel = new Map<string, (secret: string) => Promise<CryptoKey>>();

/**
 * The signing key HMAC-SHA-256(secret, label), made once per isolate for each
 * secret and label.
 */
export function derivedHmacKey(secret: string, label: string): Promise<CryptoKey> {
  let derive = byLabel.get(label);
  if (!derive) {
    derive = memoizeByString(async (s: string): Promise<CryptoKey> => {
      const derived = await crypto.subtle.sign("HMAC", await hmacKey(s), encoder.encode(label));
      return crypto.subtle.importKey("raw", derived, HMAC_SHA256, false, ["sign"]);
    });
    byLabel.set(label, derive);
  }
  return derive(secret);
}

const aesByLabel = new Map<string, (secret: string) => Promise<CryptoKey>>();

/**
 * The AES-256-GCM key whose raw bytes are HMAC-SHA-256(secret, label), made
 * once per isolate for each secret and label: so a sealing key of its own,
 * never equal to any HMAC key derived from the same secret under another label.
 */
export function derivedAesKey(secret: string, label: string): Promise<CryptoKey> {
  let derive = aesByLabel.get(label);
  if (!derive) {
    derive = memoizeByString(async (s: string): Promise<CryptoKey> => {
      const raw = await crypto.subtle.sign("HMAC", await hmacKey(s), encoder.encode(label));
      return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    });
    aesByLabel.set(label, derive);
  }
  return derive(secret);
}

let compareKey: Promise<CryptoKey> | undefined;

/**
 * Constant-time equality of two secrets of any length: both become 32-byte
 * HMACs under a key made once per isolate, on first use (Workers allow no
 * random values at global scope), compared with timingSafeEqual, so neither
 * the time taken, an early exit nor the lengths say how much of a guess was right.
 */
export async function sameSecret(presented: string, expected: string): Promise<boolean> {
  compareKey ??= crypto.subtle.generateKey(HMAC_SHA256, false, ["sign"]) as Promise<CryptoKey>;
  const key = await compareKey;
  const [a, b] = await Promise.all([
    crypto.subtle.sign("HMAC", key, encoder.encode(presented)),
    crypto.subtle.sign("HMAC", key, encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
