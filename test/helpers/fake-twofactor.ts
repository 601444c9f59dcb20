import { answer, type GatewayReply, routeOutbound, withFreshId } from "./outbound";

/** A fake 2Factor at TWOFACTOR_FAKE_URL (the test environment's TWOFACTOR_BASE_URL), answering through outbound.ts. */
export const TWOFACTOR_FAKE_URL = "https://twofactor.test";

export interface TwoFactorRequest {
  url: string;
  method: string;
  apiKey: string;
  kind: "SMS" | "VOICE";
  phone: string;
  code: string;
  template: string | undefined;
}

export class FakeTwoFactor {
  readonly requests: TwoFactorRequest[] = [];
  /** The session id (`Details`) of each accepted send, in order (what 2Factor's callbacks name as SessionId). */
  readonly messageIds: string[] = [];
  private reply: GatewayReply = twoFactorOk();

  lastMessageId(): string {
    const id = this.messageIds.at(-1);
    if (!id) throw new Error("no 2Factor send was accepted");
    return id;
  }

  respond(reply: GatewayReply): void {
    this.reply = reply;
  }

  lastCode(): string {
    const code = this.requests.at(-1)?.code;
    if (!code) throw new Error("no 2Factor request carried a code");
    return code;
  }

  install(): void {
    this.requests.length = 0;
    this.messageIds.length = 0;
    this.reply = twoFactorOk();
    routeOutbound(TWOFACTOR_FAKE_URL, async (request) => {
      // /API/V1/{key}/{SMS|VOICE}/{phone}/{otp}[/{template}]
      const parts = new URL(request.url).pathname.split("/").slice(3).map(decodeURIComponent);
      this.requests.push({
        url: request.url,
        method: request.method,
        apiKey: parts[0]!,
        kind: parts[1] as "SMS" | "VOICE",
        phone: parts[2]!,
        code: parts[3]!,
        template: parts[4],
      });
      const reply = this.reply;
      return answer(
        "body" in reply
          ? { ...reply, body: withFreshId(reply.body, "Details", "Status", "Success", this.messageIds) }
          : reply,
        request,
      );
    });
  }
}

export function twoFactorOk(): GatewayReply {
  return { status: 200, body: JSON.stringify({ Status: "Success", Details: "5e4f1c2a-9b1d-4e0f-a3c2-7d6b5a4f3e21" }) };
}

export function twoFactorError(status: number, details: string): GatewayReply {
  return { status, body: JSON.stringify({ Status: "Error", Details: details }) };
}
