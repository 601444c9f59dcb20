import { webhookSecretBytes } from "../crypto/standard-webhooks";
import { setting } from "./readers";

/**
 * The readers of the Standard Webhooks settings (the app's event webhook and
 * Supabase's Send SMS hook): an endpoint URL and the secrets in the forms
 * those two write them. Messages never include a value.
 */

const blank = (v: string | undefined): v is undefined => v === undefined || v.trim() === "";
const make = "make one with `echo whsec_$(openssl rand -base64 32)`";

/**
 * Where events are posted: https, or http to this machine only (local
 * development). Query strings are allowed (some receivers take a token there)
 * and are never logged.
 */
export const webhookUrl = setting((v, problem) => {
  if (blank(v)) return undefined;
  try {
    const url = new URL(v.trim());
    const local = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
    if (url.username || url.password) return problem("must not hold a user name or password");
    if (url.protocol === "https:" || (url.protocol === "http:" && local)) return url.href;
  } catch {
    /* not a URL */
  }
  return problem("must be an https URL (http only to localhost)");
});

/** `whsec_<base64>`, 24-64 bytes once decoded: the key bytes. */
export const whsecSecret = setting((v, problem) => {
  if (blank(v)) return undefined;
  return webhookSecretBytes(v) ?? problem(`must be whsec_ and the base64 of 24-64 random bytes; ${make}`);
});

/**
 * Supabase's form, `v1,whsec_<base64>`; several joined by `|` while a secret
 * is rotated (as GOTRUE_HOOK_SEND_SMS_SECRETS takes them): each one's key bytes.
 */
export const supabaseHookSecrets = setting((v, problem) => {
  if (blank(v)) return undefined;
  const keys = v
    .trim()
    .split("|")
    .map((part) => (part.startsWith("v1,") ? webhookSecretBytes(part.slice(3)) : undefined));
  if (keys.some((k) => k === undefined)) {
    return problem("must be the secret Supabase shows, v1,whsec_ and base64 (several joined by |)");
  }
  return keys as Uint8Array[];
});
