import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeFast2Sms, refused } from "../helpers/fake-fast2sms";
import { sendOtp, uniquePhone, verifyOtp, withSettings } from "../helpers/api";
import { expectProblem } from "../helpers/problem";

const fast2sms = new FakeFast2Sms();
beforeEach(() => fast2sms.install());
afterEach(() => vi.restoreAllMocks());

/** After a failed send, the code that was texted (or not) must be dead everywhere. */
async function expectNothingLeft(phone: string): Promise<void> {
  const code = fast2sms.lastCode();
  expectProblem(await verifyOtp(phone, code), 404, "otp_not_found");
  expect((await env.OTP_KV.list({ prefix: `otp:${phone}:` })).keys).toHaveLength(0);
}

// Every documented Fast2SMS error, with the HTTP status the docs give for it.
const documented: [number, number][] = [
  [401, 400], [402, 400], [403, 400], [404, 400], [405, 400], [406, 400], [407, 400], [408, 400],
  [409, 400], [410, 400], [411, 400], [412, 401], [413, 401], [414, 400], [415, 400], [416, 400],
  [417, 400], [424, 400], [425, 400], [426, 400], [500, 400], [990, 400], [995, 400], [996, 400],
  [997, 400], [998, 400], [999, 400],
];

describe("Fast2SMS failures → 502 sms_failed and nothing usable left", () => {
  it.each(documented)("error %i (HTTP %i)", async (statusCode, httpStatus) => {
    fast2sms.respond(refused(httpStatus, statusCode, "vendor text"));
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toContain(`Fast2SMS error ${statusCode}`);
    expect(res.body.detail).not.toContain("test-fast2sms-key-7f3a");
    await expectNothingLeft(phone);
  });

  it("HTTP 200 with return: false", async () => {
    fast2sms.respond(refused(200, 416, "Insufficient wallet balance"));
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/insufficient balance/);
    await expectNothingLeft(phone);
  });

  it("HTTP 200 with no return key at all", async () => {
    fast2sms.respond({ status: 200, body: JSON.stringify({ status_code: 996, message: "Complete KYC" }) });
    const phone = uniquePhone();
    expectProblem(await sendOtp(phone), 502, "sms_failed");
    await expectNothingLeft(phone);
  });

  it("HTTP 500", async () => {
    fast2sms.respond({ status: 500, body: JSON.stringify({ message: "oops" }) });
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/internal error \(HTTP 500\)/);
    await expectNothingLeft(phone);
  });

  it("a body that is not JSON", async () => {
    fast2sms.respond({ status: 200, body: "<html>Bad gateway</html>" });
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/could not be read/);
    await expectNothingLeft(phone);
  });

  it("a network error", async () => {
    fast2sms.respond({ network: true });
    const phone = uniquePhone();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/could not be reached/);
    await expectNothingLeft(phone);
  });

  it("a timeout (FAST2SMS_TIMEOUT_MS)", async () => {
    fast2sms.respond({ hang: true });
    const phone = uniquePhone();
    const started = Date.now();
    const res = await sendOtp(phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/did not answer within 1 second\b/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await expectNothingLeft(phone);
  });

  it("a failed send still counts toward the cooldown (the gateway may have delivered it)", async () => {
    fast2sms.respond({ hang: true });
    const phone = uniquePhone();
    expectProblem(await sendOtp(phone), 502, "sms_failed");
    fast2sms.respond(refused(200, 0));
    const again = await sendOtp(phone);
    expectProblem(again, 429, "rate_limited");
    expect(fast2sms.requests).toHaveLength(1);
  });
});

describe("Fast2SMS routes", () => {
  it("q sends the text with the app name", async () => {
    const phone = uniquePhone();
    const res = await withSettings({ FAST2SMS_ROUTE: "q", APP_NAME: "Kirana Shop" }, "/send-otp", { json: { phone } });
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
    const res = await withSettings(
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
    const res = await withSettings({ OTP_LENGTH: "8" }, "/send-otp", { json: { phone: uniquePhone() } });
    expect(res.status).toBe(200);
    expect(fast2sms.lastCode()).toMatch(/^\d{8}$/);
  });
});
