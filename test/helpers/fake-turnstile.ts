import { routeOutbound } from "./outbound";

export const TURNSTILE_URL = "https://turnstile.test/siteverify";

/** Settings that switch the bot check on, pointed at this fake. */
export const turnstileSettings = {
  TURNSTILE_SECRET_KEY: "test-turnstile-secret",
  TURNSTILE_SITEVERIFY_URL: TURNSTILE_URL,
};

type Reply = { status: number; body: unknown } | { network: true };

/** A fake Cloudflare siteverify: records each form it receives and answers with `reply`. */
export class FakeTurnstile {
  readonly requests: Record<string, string>[] = [];
  static readonly pass: Reply = { status: 200, body: { success: true, hostname: "shop.example", action: "send-otp" } };

  reply: Reply = FakeTurnstile.pass;

  /** Answer siteverify requests with this fake; forgets earlier requests and replies. */
  install(): void {
    this.requests.length = 0;
    this.reply = FakeTurnstile.pass;
    routeOutbound(TURNSTILE_URL, async (request) => {
      const form = await request.formData();
      this.requests.push(Object.fromEntries([...form.entries()].map(([k, v]) => [k, String(v)])));
      if ("network" in this.reply) throw new TypeError("Network connection lost.");
      return new Response(typeof this.reply.body === "string" ? this.reply.body : JSON.stringify(this.reply.body), {
        status: this.reply.status,
        headers: { "content-type": "application/json" },
      });
    });
  }
}
