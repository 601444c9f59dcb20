/**
 * The WhatsApp Cloud API webhook: the GET handshake Meta sends when the
 * callback URL is saved, the `X-Hub-Signature-256` check of every POST, and
 * the message statuses a POST carries. Meta signs with the App Secret (not
 * the verify token), over the raw body bytes as received.
 */

import { hmacKey, sameSecret } from "../../kernel/crypto/hmac-key";

/** A message status, as `entry[].changes[].value.statuses[]` reports it. */
export interface WhatsAppStatus {
  /** The `wamid…` the send answered with. */
  messageId: string;
  status: "sent" | "delivered" | "read" | "failed";
  /** On `failed`, the first error's code (131026, 131049, …). */
  errorCode?: number;
  /** When it happened, in ms since the epoch (Meta sends Unix seconds). */
  at?: number;
  /** The send's `biz_opaque_callback_data`, echoed back. */
  callbackData?: string;
  /** `recipient_id`: the recipient's number, digits with the country code (no `+`). */
  recipientId?: string;
}

type Query = URLSearchParams | Record<string, string | string[] | undefined>;

/**
 * The challenge to answer with (200, as plain text) when the query is
 * `hub.mode=subscribe` with the right `hub.verify_token`; null otherwise
 * (answer 403). An empty verify token verifies nothing.
 */
export async function verifyHandshake(query: Query, verifyToken: string): Promise<string | null> {
  const get = (name: string): string | undefined => {
    if (query instanceof URLSearchParams) return query.get(name) ?? undefined;
    const v = query[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const challenge = get("hub.challenge");
  const token = get("hub.verify_token");
  if (get("hub.mode") !== "subscribe" || !challenge || token === undefined || verifyToken === "") return null;
  return (await sameSecret(token, verifyToken)) ? challenge : null;
}

/**
 * Whether `X-Hub-Signature-256: sha256=<hex>` is the HMAC-SHA256 of the raw
 * body under the App Secret. A missing or malformed header, or an empty
 * secret, is false. Compared in constant time.
 */
export async function verifySignature(
  rawBody: ArrayBuffer | ArrayBufferView | string,
  header: string | null,
  appSecret: string,
): Promise<boolean> {
  if (!appSecret || header === null) return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const presented = hexBytes(match[1]!);
  const key = await hmacKey(appSecret);
  const bytes = typeof rawBody === "string" ? encoder.encode(rawBody) : rawBody;
  const expected = await crypto.subtle.sign("HMAC", key, bytes);
  return crypto.subtle.timingSafeEqual(expected, presented);
}

const STATUSES = new Set<string>(["sent", "delivered", "read", "failed"]);

/**
 * Every message status in a webhook body (parsed JSON, or its text), in the
 * order sent; several may come in one post, and the same one twice (kept
 * once). Other statuses (`played`), incoming messages and garbage give
 * nothing. Never throws.
 */
export function parseStatuses(body: unknown): WhatsAppStatus[] {
  try {
    const root = typeof body === "string" ? (JSON.parse(body) as unknown) : body;
    if (!isObject(root) || (root.object !== undefined && root.object !== "whatsapp_business_account")) return [];
    const seen = new Set<string>();
    const out: WhatsAppStatus[] = [];
    for (const entry of list(root.entry)) {
      for (const change of list(entry.changes)) {
        if (change.field !== undefined && change.field !== "messages") continue;
        const value = isObject(change.value) ? change.value : {};
        for (const s of list(value.statuses)) {
          const status = statusOf(s);
          if (!status) continue;
          const key = `${status.status}\u0000${status.messageId}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push(status);
        }
      }
    }
    return out;
  } catch {
    return [];
  }
}

function statusOf(s: Record<string, unknown>): WhatsAppStatus | undefined {
  const id = s.id;
  const status = s.status;
  if (typeof id !== "string" || id === "" || id.length > 256 || typeof status !== "string" || !STATUSES.has(status)) {
    return undefined;
  }
  const firstError = list(s.errors)[0];
  const errorCode = typeof firstError?.code === "number" ? firstError.code : undefined;
  const seconds = typeof s.timestamp === "string" && /^\d{1,12}$/.test(s.timestamp) ? Number(s.timestamp) : undefined;
  const callbackData = s.biz_opaque_callback_data;
  const recipientId =
    typeof s.recipient_id === "string" && /^\d{1,20}$/.test(s.recipient_id) ? s.recipient_id : undefined;
  return {
    messageId: id,
    status: status as WhatsAppStatus["status"],
    ...(errorCode !== undefined ? { errorCode } : {}),
    ...(seconds !== undefined ? { at: seconds * 1000 } : {}),
    ...(typeof callbackData === "string" && callbackData !== "" ? { callbackData } : {}),
    ...(recipientId !== undefined ? { recipientId } : {}),
  };
}

const encoder = new TextEncoder();

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function list(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
