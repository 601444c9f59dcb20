import { describe, expect, it } from "vitest";
import { DLT_PROBLEMS } from "../../src/platform/delivery/dlt-reasons";
import { type ApiResponse, envWith, uniquePhone, withEnv } from "../helpers/api";
import { captureConsole } from "../helpers/log-capture";
import { expectProblem } from "../helpers/problem";
import { advance, setUpGatewaysTest } from "../helpers/setup";

const { fast2sms, msg91, twofactor } = setUpGatewaysTest();

const SECRET = "dlr-secret-Qm7vK2pX9sT4wZ8yB3nC6hJ1";
const ADMIN_TOKEN = "xxIT_SXoxRcrvsZPbU6_8zJoiPCmkzjympyjGpmaNUc";
const TEST_NUMBER = "+919999999999";

type Gateway = "fast2sms" | "msg91" | "twofactor";

/** One environment object per gateway, so calls share settings; the app's background work is awaited by withEnv. */
const envs: Record<Gateway, Env> = {
  fast2sms: envWith({ DELIVERY_WEBHOOK_SECRET: SECRET, ADMIN_TOKEN, TEST_PHONE_NUMBERS: `${TEST_NUMBER}:123456` }),
  msg91: envWith({ DELIVERY_WEBHOOK_SECRET: SECRET, SMS_PROVIDERS: "msg91" }),
  twofactor: envWith({ DELIVERY_WEBHOOK_SECRET: SECRET, SMS_PROVIDERS: "twofactor" }),
};
const main = envs.fast2sms;

const fakes = { fast2sms, msg91, twofactor };

async function send(phone: string, gateway: Gateway = "fast2sms"): Promise<{ id: string; messageId: string }> {
  const sent = await withEnv(envs[gateway], "/send-otp", { json: { phone } });
  expect(sent.status).toBe(200);
  return { id: String(sent.body.verification_id), messageId: fakes[gateway].lastMessageId() };
}

const status = (phone: string, id: string, environment: Env = main) =>
  withEnv(environment, "/verification-status", { json: { phone, verification_id: id } });

/** A report body as each gateway sends it: Fast2SMS (the operator's JSON), MSG91 Webhook (New), 2Factor's form. */
function reportBody(
  gateway: Gateway,
  phone: string,
  messageId: string,
  outcome: "delivered" | "failed",
  reason?: string,
): { body: string; type: string } {
  const digits = phone.slice(1); // gateways write the number without the +
  switch (gateway) {
    case "fast2sms":
      return {
        type: "application/json",
        body: JSON.stringify({
          request_id: messageId,
          mobile: phone.slice(3),
          status: outcome,
          failure_reason: reason ?? "",
        }),
      };
    case "msg91":
      return {
        type: "application/json",
        body: JSON.stringify({
          requestId: messageId,
          telNum: digits,
          status: outcome === "delivered" ? "Delivered" : "Failed",
          failureReason: reason ?? "",
        }),
      };
    case "twofactor":
      return {
        type: "application/x-www-form-urlencoded",
        body: new URLSearchParams({
          mode: "SMS_OTP",
          SessionId: messageId,
          To: digits,
          Status: outcome === "delivered" ? "DELIVERED" : "FAILED",
        }).toString(),
      };
  }
}

function webhook(
  path: string,
  { body, type }: { body: string; type: string },
  environment: Env = main,
): Promise<ApiResponse> {
  return withEnv(environment, path, { method: "POST", body, headers: { "content-type": type } });
}

const report = (
  gateway: Gateway,
  phone: string,
  messageId: string,
  outcome: "delivered" | "failed",
  reason?: string,
  environment: Env = envs[gateway],
) => webhook(`/webhooks/${gateway}/${SECRET}`, reportBody(gateway, phone, messageId, outcome, reason), environment);

describe("delivery reports through the webhook", () => {
  for (const gateway of ["fast2sms", "msg91", "twofactor"] as const) {
    it(`${gateway}: a delivered report marks the code's message delivered`, async () => {
      const phone = uniquePhone();
      const { id, messageId } = await send(phone, gateway);
      const before = await status(phone, id, envs[gateway]);
      expect(before.body).toMatchObject({ status: "pending", channel: "sms", messages: [{ status: "pending" }] });

      const res = await report(gateway, phone, messageId, "delivered");
      expect(res.status).toBe(200);
      expect(res.body).toEqual({});

      const after = await status(phone, id, envs[gateway]);
      expect(after.status).toBe(200);
      expect(after.body).toEqual({
        status: "delivered",
        channel: "sms",
        messages: [
          { channel: "sms", status: "delivered", sent_at: expect.any(String), delivered_at: expect.any(String) },
        ],
        expires_in: expect.any(Number),
      });
      expect(after.body.expires_in as number).toBeGreaterThan(290);
    });

    it(`${gateway}: a failed report marks it failed, and with no other route the code's status is failed`, async () => {
      const phone = uniquePhone();
      const { id, messageId } = await send(phone, gateway);
      expect((await report(gateway, phone, messageId, "failed", "ABSENT-SUB")).status).toBe(200);
      const after = await status(phone, id, envs[gateway]);
      expect(after.body).toMatchObject({ status: "failed", messages: [{ status: "failed" }] });
      // No gateway name and no failure reason reach the app.
      expect(JSON.stringify(after.body)).not.toMatch(/fast2sms|msg91|twofactor|ABSENT/i);
      expect((after.body.messages as object[])[0]).not.toHaveProperty("delivered_at");
    });
  }

  it("a duplicate changes nothing, a failure after a delivery is ignored, and a delivery after a failure wins", async () => {
    const phone = uniquePhone();
    const { id, messageId } = await send(phone);
    await report("fast2sms", phone, messageId, "delivered");
    const first = await status(phone, id);
    advance(5000);
    await report("fast2sms", phone, messageId, "delivered"); // a retry of the same report
    await report("fast2sms", phone, messageId, "failed", "EXPIRED"); // out of order: older news
    expect((await status(phone, id)).body.messages).toEqual(first.body.messages);
    expect((await status(phone, id)).body.status).toBe("delivered");

    const other = uniquePhone();
    const second = await send(other);
    await report("fast2sms", other, second.messageId, "failed", "ABSENT-SUB");
    expect((await status(other, second.id)).body.status).toBe("failed");
    await report("fast2sms", other, second.messageId, "delivered");
    expect((await status(other, second.id)).body).toMatchObject({
      status: "delivered",
      messages: [{ status: "delivered", delivered_at: expect.any(String) }],
    });
  });

  it("a report never verifies the code: the code still takes its right value once, and a wrong one costs a try", async () => {
    const phone = uniquePhone();
    const { id, messageId } = await send(phone);
    const code = fast2sms.lastCode();
    await report("fast2sms", phone, messageId, "delivered");
    const verified = await withEnv(main, "/verify-otp", { json: { phone, otp: code, verification_id: id } });
    expect(verified.status).toBe(200);
    // Used now: the status is the one 404.
    expectProblem(await status(phone, id), 404, "otp_not_found");
  });

  it("a report for an id the service never sent, or for another gateway's id, answers 200 {} and changes nothing", async () => {
    const phone = uniquePhone();
    const { id, messageId } = await send(phone);
    const unknown = await report("fast2sms", phone, "no-such-request-id", "delivered");
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: 200, body: {} });
    // The right id under another gateway's path matches nothing either.
    const elsewhere = await webhook(`/webhooks/msg91/${SECRET}`, reportBody("msg91", phone, messageId, "delivered"));
    expect({ status: elsewhere.status, body: elsewhere.body }).toEqual({ status: 200, body: {} });
    // An id of ours reported for another number matches nothing.
    await report("fast2sms", uniquePhone(), messageId, "delivered");
    expect((await status(phone, id)).body.status).toBe("pending");
  });

  it("bodies that are no report answer 200 {} like any other", async () => {
    for (const body of ["", "not json", "{}", '{"request_id":"x"}', "[1,2]", "\u0000"]) {
      const res = await webhook(`/webhooks/fast2sms/${SECRET}`, { body, type: "application/json" });
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: {} });
    }
  });

  it("reports for several numbers in one body reach each number", async () => {
    const [a, b] = [uniquePhone(), uniquePhone()];
    const sa = await send(a);
    const sb = await send(b);
    const body = JSON.stringify([
      { request_id: sa.messageId, mobile: a.slice(1), status: "delivered" },
      { request_id: sb.messageId, mobile: b, status: "failed", failure_reason: "DND" },
    ]);
    expect((await webhook(`/webhooks/fast2sms/${SECRET}`, { body, type: "application/json" })).status).toBe(200);
    expect((await status(a, sa.id)).body.status).toBe("delivered");
    expect((await status(b, sb.id)).body.status).toBe("failed");
  });
});

describe("forged reports", () => {
  it("a wrong or missing secret, an unknown gateway, or no DELIVERY_WEBHOOK_SECRET is the one 404 and changes nothing", async () => {
    const phone = uniquePhone();
    const { id, messageId } = await send(phone);
    const body = reportBody("fast2sms", phone, messageId, "delivered");
    const unset = envWith({});
    const forged: [string, Env][] = [
      [`/webhooks/fast2sms/${SECRET.slice(0, -1)}x`, main],
      [`/webhooks/fast2sms/${SECRET}x`, main],
      ["/webhooks/fast2sms/", main],
      ["/webhooks/fast2sms", main],
      [`/webhooks/whatsapp/${SECRET}`, main],
      [`/webhooks/console/${SECRET}`, main],
      [`/webhooks/fast2sms/${SECRET}`, unset],
    ];
    for (const [path, environment] of forged) {
      const res = await webhook(path, body, environment);
      expectProblem(res, 404, "not_found");
    }
    expect((await status(phone, id)).body.status).toBe("pending");
  });

  it("the secret is in no log line, whatever the path", async () => {
    const log = captureConsole();
    const phone = uniquePhone();
    const { messageId } = await send(phone);
    const body = reportBody("fast2sms", phone, messageId, "delivered");
    await webhook(`/webhooks/fast2sms/${SECRET}`, body);
    await webhook(`/webhooks/fast2sms/${SECRET}/extra`, body);
    await withEnv(main, `/webhooks/fast2sms/${SECRET}`, { method: "GET" });
    await withEnv(main, `/WEBHOOKS/fast2sms/${SECRET}`, { method: "POST", body: body.body });
    // A webhook URL mistyped or behind a prefix is logged without the secret too.
    for (const path of [
      `/webhook/fast2sms/${SECRET}`,
      `/api/webhooks/fast2sms/${SECRET}`,
      `/webhooks%2Ffast2sms%2F${SECRET}`,
      `/webhooks;/fast2sms/${SECRET}`,
      `/fast2sms/${SECRET}`,
      `/${SECRET}`,
    ]) {
      await withEnv(main, path, { method: "POST", body: body.body });
    }
    const requests = log.events("request");
    expect(requests.map((r) => r.path)).toEqual(
      expect.arrayContaining(["/webhooks/:gateway/:secret", "/webhooks/fast2sms/[secret]"]),
    );
    expect(log.raw.length).toBeGreaterThan(0);
    for (const line of log.raw) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain(SECRET.slice(0, 16));
      expect(line).not.toContain(phone);
    }
  });

  it.each([
    ["shorter than 32 bytes", "short"],
    ["not URL-safe", "dlr/secret+Qm7vK2pX9sT4wZ8yB3nC6hJ1x"],
    ["guessable", "abcdefghijabcdefghijabcdefghijabcdef"],
  ])("DELIVERY_WEBHOOK_SECRET %s is a settings error", async (_, value) => {
    const res = await withEnv(envWith({ DELIVERY_WEBHOOK_SECRET: value }), "/verification-status", {
      json: { phone: uniquePhone(), verification_id: "x" },
    });
    expectProblem(res, 500, "misconfigured");
  });
});

describe("POST /verification-status", () => {
  it("a test number's code answers in the shape a real number's does: one message, pending, then delivered", async () => {
    const sent = await withEnv(main, "/send-otp", { json: { phone: TEST_NUMBER } });
    const id = String(sent.body.verification_id);
    const shape = (body: Record<string, unknown>) => ({
      keys: Object.keys(body).sort(),
      messages: (body.messages as Record<string, unknown>[]).map((m) => Object.keys(m).sort()),
    });
    const realPhone = uniquePhone();
    const real = await send(realPhone);
    const first = await status(TEST_NUMBER, id);
    expect(first.body).toMatchObject({ status: "pending", channel: "sms" });
    expect(shape(first.body)).toEqual(shape((await status(realPhone, real.id)).body));
    advance(3000);
    const later = await status(TEST_NUMBER, id);
    expect(later.body).toMatchObject({ status: "delivered", messages: [{ channel: "sms", status: "delivered" }] });
    expect(fast2sms.requests.filter((r) => JSON.stringify(r.body).includes(TEST_NUMBER.slice(3)))).toEqual([]);
  });

  it("one code's status may be read 60 times, then 429 with Retry-After; a refused read changes nothing", async () => {
    const phone = uniquePhone();
    const { id } = await send(phone);
    for (let i = 0; i < 60; i++) expect((await status(phone, id)).status).toBe(200);
    const refused = await status(phone, id);
    expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // The code itself is untouched: it still verifies.
    const verified = await withEnv(main, "/verify-otp", {
      json: { phone, otp: fast2sms.lastCode(), verification_id: id },
    });
    expect(verified.status).toBe(200);
  });

  it("strangers get the one 404: a made-up id, another number's id, a used code, an expired code", async () => {
    const phone = uniquePhone();
    const other = uniquePhone();
    const mine = await send(phone);
    const theirs = await send(other);
    expectProblem(await status(phone, "q3Yx0bV1n8WZr5m2Kd7tQAZ0m5WVvR2kq9XbTe"), 404, "otp_not_found");
    expectProblem(await status(phone, theirs.id), 404, "otp_not_found");

    const code = fast2sms.lastCode();
    expect(
      (await withEnv(main, "/verify-otp", { json: { phone: other, otp: code, verification_id: theirs.id } })).status,
    ).toBe(200);
    expectProblem(await status(other, theirs.id), 404, "otp_not_found");

    expect((await status(phone, mine.id)).status).toBe(200);
    advance(301_000);
    expectProblem(await status(phone, mine.id), 404, "otp_not_found");
  });

  it("is validated like /verify-otp", async () => {
    expectProblem(
      await withEnv(main, "/verification-status", { json: { phone: uniquePhone() } }),
      400,
      "invalid_request",
    );
    expectProblem(
      await withEnv(main, "/verification-status", { json: { phone: "12", verification_id: "x" } }),
      400,
      "invalid_phone",
    );
    expectProblem(
      await withEnv(main, "/verification-status", { json: { phone: uniquePhone(), verification_id: "x", otp: "1" } }),
      400,
      "invalid_request",
    );
  });

  it("without DELIVERY_WEBHOOK_SECRET a message is recorded as pending, and stays so", async () => {
    const phone = uniquePhone();
    const sent = await withEnv(envWith({}), "/send-otp", { json: { phone } });
    const res = await status(phone, String(sent.body.verification_id), envWith({}));
    expect(res.body).toMatchObject({ status: "pending", messages: [{ channel: "sms", status: "pending" }] });
  });
});

describe("the operator's view", () => {
  it("lists every message of the number's recent codes, with the gateway, the reported reason and its DLT problem", async () => {
    const log = captureConsole();
    const phone = uniquePhone();
    const first = await send(phone);
    advance(31_000); // past the resend cooldown
    const second = await send(phone);
    await report("fast2sms", phone, first.messageId, "failed", "DLT: 633 TEMPLATE-NOT-MATCHED");
    await report("fast2sms", phone, second.messageId, "delivered");
    const view = await withEnv(main, `/admin/numbers/${encodeURIComponent(phone)}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(view.status).toBe(200);
    expect(view.body.deliveries).toEqual([
      {
        channel: "sms",
        gateway: "fast2sms",
        status: "failed",
        sent_at: expect.any(String),
        delivered_at: null,
        failed_at: expect.any(String),
        reason: "DLT: 633 TEMPLATE-NOT-MATCHED",
        dlt: DLT_PROBLEMS.templateMismatch,
      },
      {
        channel: "sms",
        gateway: "fast2sms",
        status: "delivered",
        sent_at: expect.any(String),
        delivered_at: expect.any(String),
        failed_at: null,
        reason: null,
        dlt: null,
      },
    ]);
    // Logged once, with the gateway and the problem named, never the number or the vendor's text.
    const rejected = log.events("sms.dlt_rejected");
    expect(rejected).toEqual([
      expect.objectContaining({ gateway: "fast2sms", problem: DLT_PROBLEMS.templateMismatch }),
    ]);
    expect(JSON.stringify(rejected)).not.toMatch(/TEMPLATE-NOT-MATCHED|\d{10}/);
    // A repeat of the report is not logged again.
    await report("fast2sms", phone, first.messageId, "failed", "DLT: 633 TEMPLATE-NOT-MATCHED");
    expect(log.events("sms.dlt_rejected")).toHaveLength(1);
  });
});

describe("local development: the console gateway's made-up report", () => {
  const consoleEnv = (delivery?: string) =>
    envWith({
      SMS_PROVIDER: "console",
      FAST2SMS_API_KEY: undefined,
      ...(delivery === undefined ? {} : { CONSOLE_DELIVERY: delivery }),
    });

  it("is delivered a second after the send by default, and the outbox shows it", async () => {
    const environment = consoleEnv();
    const phone = uniquePhone();
    const started = Date.now();
    // withEnv awaits the send's background work, the report included.
    const sent = await withEnv(environment, "/send-otp", { json: { phone } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const res = await status(phone, String(sent.body.verification_id), environment);
    expect(res.body).toMatchObject({ status: "delivered", messages: [{ status: "delivered" }] });
    const outbox = await withEnv(environment, `/dev/outbox?phone=${encodeURIComponent(phone)}`);
    expect(outbox.body.messages).toEqual([expect.objectContaining({ to: phone, channel: "sms", status: "delivered" })]);
  });

  it("fails with CONSOLE_DELIVERY=failed, and stays pending with silent", async () => {
    for (const [delivery, expected] of [
      ["failed", "failed"],
      ["silent", "pending"],
    ] as const) {
      const environment = consoleEnv(delivery);
      const phone = uniquePhone();
      const sent = await withEnv(environment, "/send-otp", { json: { phone, channel: "voice" } });
      const res = await status(phone, String(sent.body.verification_id), environment);
      expect(res.body).toMatchObject({
        status: expected,
        channel: "voice",
        messages: [{ channel: "voice", status: expected }],
      });
      const outbox = await withEnv(environment, `/dev/outbox?phone=${encodeURIComponent(phone)}`);
      expect(outbox.body.messages).toEqual([expect.objectContaining({ channel: "voice", status: expected })]);
    }
  });

  it("CONSOLE_DELIVERY takes only delivered, failed or silent", async () => {
    const res = await withEnv(consoleEnv("lost"), "/send-otp", { json: { phone: uniquePhone() } });
    expectProblem(res, 500, "misconfigured");
  });
});
