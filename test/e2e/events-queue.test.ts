import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeFast2Sms } from "../../scripts/lib/fake-fast2sms-server.ts";
import { type DevServer, startWranglerDev } from "../../scripts/lib/wrangler-dev.ts";

/**
 * The events through the real local queue of `wrangler dev` (EVENTS_QUEUE's
 * producer and this Worker's queue() consumer), to a receiver on loopback that
 * verifies each post with the standardwebhooks package.
 */
const SECRET = `whsec_${Buffer.from("e2e events secret, 32 bytes long").toString("base64")}`;
let fast2sms: Awaited<ReturnType<typeof startFakeFast2Sms>>;
let dev: DevServer;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
const receiver = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk: Buffer) => {
    body += chunk.toString("utf8");
  });
  req.on("end", () => {
    received.push({ headers: req.headers, body });
    res.writeHead(204).end();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const { port } = receiver.address() as AddressInfo;
  fast2sms = await startFakeFast2Sms();
  dev = await startWranglerDev({
    SMS_PROVIDER: "fast2sms",
    FAST2SMS_BASE_URL: fast2sms.url,
    FAST2SMS_API_KEY: "e2e-fast2sms-key",
    JWT_SECRET: "e2e-jwt-secret-0123456789abcdef0123456789",
    OTP_HASH_SECRET: "e2e-otp-hash-secret-0123456789abcdef012345",
    EVENTS_WEBHOOK_URL: `http://localhost:${port}/events?key=e2e`,
    EVENTS_WEBHOOK_SECRET: SECRET,
  });
});

afterAll(async () => {
  await dev?.stop();
  await fast2sms?.close();
  await new Promise((resolve) => receiver.close(resolve));
});

async function until<T>(read: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error("timed out waiting for the event");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("events through wrangler dev's local queue", () => {
  it("a send's verification.sent reaches the receiver, signed", async () => {
    const res = await fetch(`${dev.url}/send-otp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: "+919876543211" }),
    });
    expect(res.status).toBe(200);
    const { verification_id } = (await res.json()) as { verification_id: string };
    const post = await until(() => received.find((r) => r.body.includes(verification_id)));
    const event = new Webhook(SECRET).verify(post.body, post.headers as Record<string, string>) as {
      type: string;
      data: Record<string, unknown>;
    };
    expect(event).toMatchObject({
      type: "verification.sent",
      data: { phone: "+919876543211", verification_id, channel: "sms" },
    });
    expect(post.headers["webhook-id"]).toMatch(/^msg_/);
    const code = fast2sms.received.at(-1)!.body.variables_values!;
    expect(post.body).not.toContain(code);
  });
});
