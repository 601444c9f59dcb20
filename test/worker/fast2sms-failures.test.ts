import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { limiterFor } from "../../src/platform/limiter/phone-limiter";
import { callWith, sendOtp, uniquePhone } from "../helpers/api";
import { ok, refused } from "../helpers/fake-fast2sms";
import { expectProblem } from "../helpers/problem";
import { setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

/** What the public may never read in an error: the operator's account, key, IP or KYC state, or the vendor's words. */
const OPERATOR_STATE =
  /balance|wallet|kyc|key|ip address|blocked|blacklist|disabled|account|template|sender|fast2sms|vendor text|\b4\d\d\b|\b99\d\b/i;

/** After a failed send, the code that was texted (or not) must be dead everywhere. */
async function expectNoLiveCode(phone: string): Promise<void> {
  expect(await limiterFor(env.PHONE_LIMITER, phone).newestLiveCode(5)).toBeNull();
  expect((await env.OTP_KV.list({ prefix: `otp:${phone}:` })).keys).toHaveLength(0);
  const code = fast2sms.lastCode();
  // Even an app that sends no verification_id finds nothing to check.
  const res = await callWith({ OTP_REQUIRE_VERIFICATION_ID: "false" }, "/verify-otp", {
    json: { phone, otp: code },
  });
  expectProblem(res, 404, "otp_not_found");
}

/** A clean refusal: nothing went out, so nothing stays counted and the person may try again at once. */
async function expectNothingCounted(phone: string): Promise<void> {
  await expectNoLiveCode(phone);
  fast2sms.respond(ok());
  expect((await sendOtp(phone)).status).toBe(200);
}

/** The gateway's reason goes to the log as one structured line, number masked, no key. */
function expectLogged(log: ReturnType<typeof captureLog>, fields: Record<string, unknown>): void {
  const lines = log.lines().filter((l) => l.event === "sms.failed");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ provider: "fast2sms", ...fields });
  expect(JSON.stringify(lines[0])).not.toMatch(/test-fast2sms-key-7f3a|\+91\d{10}/);
}

function captureLog() {
  const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
  return {
    lines: () =>
      spy.mock.calls.flatMap(([first]) => {
        try {
          return [JSON.parse(String(first)) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  };
}

// Every documented Fast2SMS error, with the HTTP status the docs give for it.
const documented: [number, number][] = [
  [401, 400],
  [402, 400],
  [403, 400],
  [404, 400],
  [405, 400],
  [406, 400],
  [407, 400],
  [408, 400],
  [409, 400],
  [410, 400],
  [411, 400],
  [412, 401],
  [413, 401],
  [414, 400],
  [415, 400],
  [416, 400],
  [417, 400],
  [424, 400],
  [425, 400],
  [426, 400],
  [500, 400],
  [990, 400],
  [995, 400],
  [996, 400],
  [997, 400],
  [998, 400],
  [999, 400],
];

describe("Fast2SMS failures → 502 sms_failed, nothing usable left, the reason only in the log", () => {
  it.each(documented)("error %i (HTTP %i)", async (statusCode, httpStatus) => {
    fast2sms.respond(refused(httpStatus, statusCode, "vendor text"));
    const log = captureLog();
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).not.toMatch(OPERATOR_STATE);
    expect(res.body.detail).toMatch(statusCode === 411 ? /this number/ : /unlikely to help/);
    expectLogged(log, { delivery: "not_sent", provider_code: statusCode, http_status: httpStatus });
    await expectNothingCounted(phone);
  });

  it("an account error's public detail names nothing of the account (416, insufficient balance)", async () => {
    fast2sms.respond(refused(200, 416, "Insufficient wallet balance"));
    const log = captureLog();
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toBe(
      "The SMS could not be sent, and trying again soon is unlikely to help. If it keeps failing, contact the app's support.",
    );
    expectLogged(log, {
      reason: "the gateway account has insufficient balance",
      to: expect.stringMatching(/^\+91\*+\d{2,4}$/),
    });
  });

  it("HTTP 200 with no return key at all", async () => {
    fast2sms.respond({ status: 200, body: JSON.stringify({ status_code: 996, message: "Complete KYC" }) });
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).not.toMatch(OPERATOR_STATE);
    await expectNothingCounted(phone);
  });

  it("a 4xx without a known code: not sent, and trying again may not help", async () => {
    fast2sms.respond({ status: 400, body: JSON.stringify({ return: false, message: "oops" }) });
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    await expectNothingCounted(phone);
  });

  // Outcome unknown: the SMS may arrive and may have been billed.
  it.each([
    ["a 2xx body that is not JSON", { status: 200, body: "<html>Bad gateway</html>" }],
    [
      "a 2xx JSON body that is neither a success nor an error",
      { status: 200, body: JSON.stringify({ return: "true" }) },
    ],
    ["HTTP 500 (the gateway may have taken the message)", { status: 500, body: JSON.stringify({ message: "oops" }) }],
    ["HTTP 504 from a proxy", { status: 504, body: "<html>Gateway Timeout</html>" }],
    ["a network error", { network: true as const }],
    ["a timeout (FAST2SMS_TIMEOUT_MS)", { hang: true as const }],
  ])("%s: the code is dead, the send stays counted", async (_, reply) => {
    fast2sms.respond(reply);
    const log = captureLog();
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/did not confirm the message/);
    expectLogged(log, { delivery: "unknown" });
    await expectNoLiveCode(phone);
    fast2sms.respond(ok());
    expectProblem(await sendOtp(phone), 429, "rate_limited");
    expect(fast2sms.requests).toHaveLength(1);
  });
});

describe("Fast2SMS routes", () => {
  it("q sends the text with the app name", async () => {
    const phone = uniquePhone();
    const res = await callWith({ FAST2SMS_ROUTE: "q", APP_NAME: "Kirana Shop" }, "/send-otp", { json: { phone } });
    expect(res.status).toBe(200);
    const body = fast2sms.requests[0]!.body;
    expect(body).toEqual({
      route: "q",
      message: expect.stringMatching(/^Your Kirana Shop verification code is \d{6}$/),
      numbers: phone.slice(3),
    });
  });

  it("dlt sends sender id, template id and the code as variables_values", async () => {
    const phone = uniquePhone();
    const res = await callWith(
      { FAST2SMS_ROUTE: "dlt", FAST2SMS_SENDER_ID: "KIRANA", FAST2SMS_TEMPLATE_ID: "165432" },
      "/send-otp",
      { json: { phone } },
    );
    expect(res.status).toBe(200);
    expect(fast2sms.requests[0]!.body).toEqual({
      route: "dlt",
      sender_id: "KIRANA",
      message: "165432",
      variables_values: expect.stringMatching(/^\d{6}$/),
      numbers: phone.slice(3),
    });
  });

  it("OTP_LENGTH sets the number of digits", async () => {
    const res = await callWith({ OTP_LENGTH: "8" }, "/send-otp", { json: { phone: uniquePhone() } });
    expect(res.status).toBe(200);
    expect(fast2sms.lastCode()).toMatch(/^\d{8}$/);
  });
});
