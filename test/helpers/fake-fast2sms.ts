import { routeOutbound } from "./outbound";

/** A fake Fast2SMS at FAKE_BASE_URL (the test environment's FAST2SMS_BASE_URL), answering through test/helpers/outbound.ts. */
export interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Record<string, string>;
}

type Reply = { status: number; body: string } | { network: true } | { hang: true };

export const FAKE_BASE_URL = "https://fast2sms.test";

export class FakeFast2Sms {
  readonly requests: RecordedRequest[] = [];
  /** The request_id of each accepted send, in order: every accepted send gets one of its own. */
  readonly messageIds: string[] = [];
  private reply: Reply = ok();

  /** The request_id the latest accepted send was answered with (what Fast2SMS's delivery reports name). */
  lastMessageId(): string {
    const id = this.messageIds.at(-1);
    if (!id) throw new Error("no SMS was accepted");
    return id;
  }

  /** Answer every following request with this reply. */
  respond(reply: Reply): void {
    this.reply = reply;
  }

  /** The code in the latest SMS (otp and dlt routes send it as variables_values). */
  lastCode(): string {
    const last = this.requests.at(-1);
    if (!last) throw new Error("no SMS was sent");
    const code = last.body.variables_values ?? /(\d+)$/.exec(last.body.message ?? "")?.[1];
    if (!code) throw new Error("the last SMS carried no code");
    return code;
  }

  /** Answer Fast2SMS requests with this fake; forgets earlier requests and replies. */
  install(): void {
    this.requests.length = 0;
    this.messageIds.length = 0;
    this.reply = ok();
    routeOutbound(FAKE_BASE_URL, async (request) => {
      const text = await request.text();
      this.requests.push({
        url: request.url,
        method: request.method,
        headers: Object.fromEntries(request.headers),
        body: JSON.parse(text) as Record<string, string>,
      });
      const reply = this.reply;
      if ("network" in reply) throw new TypeError("Network connection lost.");
      if ("hang" in reply) {
        return new Promise<Response>((_, reject) => {
          request.signal.addEventListener("abort", () => reject(request.signal.reason));
        });
      }
      return new Response(withFreshId(reply.body, "request_id", "return", true, this.messageIds), {
        status: reply.status,
        headers: { "content-type": "application/json" },
      });
    });
  }
}

export function ok(): Reply {
  return {
    status: 200,
    body: JSON.stringify({ return: true, request_id: "lwdtp7cjyqxvfe9", message: ["SMS sent successfully."] }),
  };
}

export function refused(httpStatus: number, statusCode: number, message = "refused"): Reply {
  return { status: httpStatus, body: JSON.stringify({ return: false, status_code: statusCode, message }) };
}

/**
 * An accepted answer (`accepted` field equal to `value`) with a fresh message id in `idField`, recorded in `ids`,
 * so each send's delivery reports name that send alone; other answers as they are.
 */
export function withFreshId(body: string, idField: string, accepted: string, value: unknown, ids: string[]): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (typeof parsed !== "object" || parsed === null || (parsed as Record<string, unknown>)[accepted] !== value) {
    return body;
  }
  const id = `${String((parsed as Record<string, unknown>)[idField] ?? "id")}-${crypto.randomUUID().slice(0, 8)}`;
  ids.push(id);
  return JSON.stringify({ ...parsed, [idField]: id });
}
