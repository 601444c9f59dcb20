import { describe, expect, it } from "vitest";
import { callWith, lastVerificationId, uniquePhone } from "../helpers/api";
import { expectProblem } from "../helpers/problem";
import { setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

const console_ = { SMS_PROVIDER: "console", FAST2SMS_API_KEY: undefined };

describe("console provider and GET /dev/outbox", () => {
  it("keeps the message in the outbox, sends nothing, and the code from it verifies", async () => {
    const phone = uniquePhone();
    expect((await callWith(console_, "/send-otp", { json: { phone } })).status).toBe(200);
    expect(fast2sms.requests).toHaveLength(0);

    const outbox = await callWith(console_, `/dev/outbox?phone=${encodeURIComponent(phone)}`);
    expect(outbox.status).toBe(200);
    const messages = outbox.body.messages as { to: string; text: string; sent_at: string }[];
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      to: phone,
      text: expect.stringMatching(/^Your Phone OTP verification code is \d{6}$/),
    });
    const code = /(\d{6})$/.exec(messages[0]!.text)![1]!;

    const verified = await callWith(console_, "/verify-otp", {
      json: { phone, otp: code, verification_id: lastVerificationId(phone) },
    });
    expect(verified.status).toBe(200);
  });

  it("filters by number in any accepted form", async () => {
    const phone = uniquePhone();
    await callWith(console_, "/send-otp", { json: { phone } });
    const outbox = await callWith(console_, `/dev/outbox?phone=0${phone.slice(3)}`);
    expect((outbox.body.messages as { to: string }[]).every((m) => m.to === phone)).toBe(true);
  });

  it("is a 404 when the provider is fast2sms", async () => {
    expectProblem(await callWith({}, "/dev/outbox"), 404, "not_found");
  });
});

describe("CORS", () => {
  it("answers preflights only for the configured origins", async () => {
    const allowed = await callWith({ CORS_ORIGINS: "https://shop.example" }, "/send-otp", {
      method: "OPTIONS",
      headers: { origin: "https://shop.example", "access-control-request-method": "POST" },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://shop.example");

    const other = await callWith({ CORS_ORIGINS: "https://shop.example" }, "/send-otp", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
