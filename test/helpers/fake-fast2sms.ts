import { answer, type GatewayReply, routeOutbound, withFreshId } from "./outbound";

/** A fake Fast2SMS at FAKE_BASE_URL (the test environment's FAST2SMS_BASE_URL), answering through test/helpers/outbound.ts. */
export interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Record<string, string>;
}

export const FAKE_BASE_URL = "https://fast2sms.test";

export class FakeFast2Sms {
  readonly requests: RecordedRequest[] = [];
  /** The request_id of each accepted send, in order: every accepted send gets one of its own. */
  readonly messageIds: string[] = [];
  private reply: GatewayReply = ok();

  /** The request_id the latest accepted send was answered with (what Fast2SMS's delivery reports name). */
  lastMessageId(): string {
    const id = this.messageIds.at(-1);
    if (!id) throw new Error("no SMS was accepted");
    return id;
  }

  /** Answer every following request with this reply. */
  respond(reply: GatewayReply): void {
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

  /** The code in the latest SMS to `e164` (Fast2SMS takes the 10-digit national number), for concurrent sends. */
  codeTo(e164: string): string {
    const national = e164.slice(-10);
    const last = this.requests.findLast((r) => r.body.numbers === national);
    const code = last?.body.variables_values ?? /(\d+)$/.exec(last?.body.message ?? "")?.[1];
    if (!code) throw new Error(`no SMS with a code was sent to ${e164}`);
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
      return answer(
        "body" in reply
          ? { ...reply, body: withFreshId(reply.body, "request_id", "return", true, this.messageIds) }
          : reply,
        request,
      );
    });
  }
}

export function ok(): GatewayReply {
  return {
    status: 200,
    body: JSON.stringify({ return: true, request_id: "lwdtp7cjyqxvfe9", message: ["SMS sent successfully."] }),
  };
}

export function refused(httpStatus: number, statusCode: number, message = "refused"): GatewayReply {
  return { status: httpStatus, body: JSON.stringify({ return: false, status_code: statusCode, message }) };
}
