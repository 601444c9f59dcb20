import { answer, type GatewayReply, routeOutbound } from "./outbound";

/** A fake WhatsApp Cloud API (Graph API) at WHATSAPP_FAKE_URL, answering through test/helpers/outbound.ts. */
export const WHATSAPP_FAKE_URL = "https://graph.whatsapp.test";

export interface WhatsAppRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

export class FakeWhatsApp {
  readonly requests: WhatsAppRequest[] = [];
  private reply: GatewayReply = sent();

  /** Answer every following request with this reply. */
  respond(reply: GatewayReply): void {
    this.reply = reply;
  }

  /** Answer Cloud API requests with this fake; forgets earlier requests and replies. */
  install(): void {
    this.requests.length = 0;
    this.reply = sent();
    routeOutbound(WHATSAPP_FAKE_URL, async (request) => {
      const text = await request.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Kept as text, so a test sees what was sent.
      }
      this.requests.push({
        url: request.url,
        method: request.method,
        headers: Object.fromEntries(request.headers),
        body,
      });
      return answer(this.reply, request);
    });
  }
}

/** The Cloud API's answer to an accepted message. */
export function sent(
  id = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI4Qzc5QkNGNTc5NTMyMDU5QzEA",
  input = "919876543210",
): { status: number; body: string } {
  return {
    status: 200,
    body: JSON.stringify({
      messaging_product: "whatsapp",
      contacts: [{ input, wa_id: input }],
      messages: [{ id, message_status: "accepted" }],
    }),
  };
}

/** A Graph API error in its documented shape. */
export function graphError(
  httpStatus: number,
  code: number,
  message = `(#${code}) error`,
  extra: { type?: string; error_subcode?: number; fbtrace_id?: string; details?: string } = {},
): { status: number; body: string } {
  return {
    status: httpStatus,
    body: JSON.stringify({
      error: {
        message,
        type: extra.type ?? "OAuthException",
        code,
        ...(extra.details ? { error_data: { messaging_product: "whatsapp", details: extra.details } } : {}),
        ...(extra.error_subcode !== undefined ? { error_subcode: extra.error_subcode } : {}),
        fbtrace_id: extra.fbtrace_id ?? "Az8or2yhqkZfEZ-_4Qn_Bam",
      },
    }),
  };
}

/** What Meta sends as X-Hub-Signature-256: `sha256=` and the hex HMAC-SHA256 of the raw body with the app secret. */
export async function hubSignature(body: string | Uint8Array, appSecret: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(appSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
