import { answer, type GatewayReply, routeOutbound, withFreshId } from "./outbound";

/** A fake MSG91 OTP API v5 at MSG91_FAKE_URL (the test environment's MSG91_BASE_URL), answering through outbound.ts. */
export const MSG91_FAKE_URL = "https://msg91.test";

export interface Msg91Request {
  url: string;
  method: string;
  headers: Record<string, string>;
  query: Record<string, string>;
}

export class FakeMsg91 {
  readonly requests: Msg91Request[] = [];
  /** The request_id of each accepted send, in order (what MSG91's reports name as requestId). */
  readonly messageIds: string[] = [];
  private reply: GatewayReply = msg91Ok();

  lastMessageId(): string {
    const id = this.messageIds.at(-1);
    if (!id) throw new Error("no MSG91 send was accepted");
    return id;
  }

  respond(reply: GatewayReply): void {
    this.reply = reply;
  }

  lastCode(): string {
    const code = this.requests.at(-1)?.query.otp;
    if (!code) throw new Error("no MSG91 request carried a code");
    return code;
  }

  install(): void {
    this.requests.length = 0;
    this.messageIds.length = 0;
    this.reply = msg91Ok();
    routeOutbound(MSG91_FAKE_URL, async (request) => {
      const url = new URL(request.url);
      this.requests.push({
        url: request.url,
        method: request.method,
        headers: Object.fromEntries(request.headers),
        query: Object.fromEntries(url.searchParams),
      });
      const reply = this.reply;
      return answer(
        "body" in reply
          ? { ...reply, body: withFreshId(reply.body, "request_id", "type", "success", this.messageIds) }
          : reply,
        request,
      );
    });
  }
}

export function msg91Ok(): GatewayReply {
  return { status: 200, body: JSON.stringify({ type: "success", request_id: "3467696e6b6b353039363937" }) };
}

export function msg91Error(status: number, message: string): GatewayReply {
  return { status, body: JSON.stringify({ type: "error", message }) };
}
