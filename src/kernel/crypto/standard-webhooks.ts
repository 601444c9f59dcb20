/**
 * Standard Webhooks (standardwebhooks.com), the scheme Svix and Supabase's
 * hooks use: a secret `whsec_<base64>` whose base64-decoded bytes key
 * HMAC-SHA-256 over `"{webhook-id}.{webhook-timestamp}.{body}"`, sent as
 * `webhook-signature: v1,<base64>` (several space-separated signatures may be
 * sent while a secret is rotated). Signing is for the events this service
 * sends; verifying is for the hooks it receives (Supabase's Send SMS hook).
 * With WebCrypto only: `crypto.subtle.timingSafeEqual` compares in constant time.
 */

const encoder = new TextEncoder();
const HMAC_SHA256 = { name: "HMAC", hash: "SHA-256" } as const;

/** How far a received timestamp may be from now, either way (the specification's 5 minutes). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** A secret's key bytes: at least 24 (the specification's range is 24 to 64), at most 64. */
export const MIN_WEBHOOK_SECRET_BYTES = 24;
export const MAX_WEBHOOK_SECRET_BYTES = 64;

/** The key bytes of `whsec_<base64>`, or undefined when it is not one (no prefix, not base64, too short or long). */
export function webhookSecretBytes(secret: string): Uint8Array | undefined {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret.trim());
  if (!match) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(match[1]!), (ch) => ch.charCodeAt(0));
  } catch {
    return undefined;
  }
  if (bytes.length < MIN_WEBHOOK_SECRET_BYTES || bytes.length > MAX_WEBHOOK_SECRET_BYTES) return undefined;
  return bytes;
}

function keyOf(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret as BufferSource, HMAC_SHA256, false, ["sign"]);
}

const content = (id: string, timestamp: string, body: string) => encoder.encode(`${id}.${timestamp}.${body}`);

function toBase64(bytes: ArrayBuffer): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

/** The three headers of one delivery attempt of message `id` at `timestamp` (seconds since the epoch). */
export async function signWebhook(
  secret: Uint8Array,
  id: string,
  timestamp: number,
  body: string,
): Promise<Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string>> {
  const mac = await crypto.subtle.sign("HMAC", await keyOf(secret), content(id, String(timestamp), body));
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${toBase64(mac)}` };
}

/** Why a received webhook was refused; `ok` when one of its signatures is right and its timestamp fresh. */
export type WebhookCheck = "ok" | "missing_headers" | "stale_timestamp" | "bad_signature";

/** The bytes of an HMAC-SHA-256: a listed signature of any other length is no signature. */
const MAC_BYTES = 32;

/**
 * Checks a received webhook against the secrets (any one may have signed it:
 * rotation): the headers present, the timestamp within
 * WEBHOOK_TOLERANCE_SECONDS of `now` (ms), and a `v1` signature over the
 * body exactly as received. The HMAC is computed once per secret and each
 * listed signature compared with it in constant time, so a stranger's header
 * of thousands of signatures costs no more than one (never one HMAC of the
 * whole body per listed signature).
 */
export async function verifyWebhook(
  secrets: readonly Uint8Array[],
  headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
  body: string,
  now: number,
): Promise<WebhookCheck> {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return "missing_headers";
  const at = Number(timestamp);
  if (Math.abs(now / 1000 - at) > WEBHOOK_TOLERANCE_SECONDS) return "stale_timestamp";
  const macs = signature
    .split(" ")
    .flatMap((part) => (part.startsWith("v1,") ? [part.slice(3)] : []))
    .flatMap((b64) => {
      try {
        const mac = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
        return mac.length === MAC_BYTES ? [mac] : [];
      } catch {
        return [];
      }
    });
  if (macs.length === 0) return "bad_signature";
  const signed = content(id, timestamp, body);
  let ok = false;
  for (const secret of secrets) {
    const expected = new Uint8Array(await crypto.subtle.sign("HMAC", await keyOf(secret), signed));
    // Every listed signature is compared, whatever an earlier one gave: no early exit.
    for (const mac of macs) ok = crypto.subtle.timingSafeEqual(expected, mac) || ok;
  }
  return ok ? "ok" : "bad_signature";
}
