import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limiterFor } from "../../src/platform/limiter/phone-limiter";
import { callWith, uniquePhone } from "../helpers/api";
import { msg91Error } from "../helpers/fake-msg91";
import { twoFactorError } from "../helpers/fake-twofactor";
import { captureConsole, GATEWAY_KEYS } from "../helpers/log-capture";
import type { GatewayReply } from "../helpers/outbound";
import { expectProblem } from "../helpers/problem";
import { setUpGatewaysTest } from "../helpers/setup";

/**
 * MSG91 and 2Factor, each alone: the same fault table as Fast2SMS
 * (fast2sms-failures.test.ts): each documented error body, 5xx, garbage, a
 * reset connection and a timeout. The public detail never names the
 * operator's account; the log line names the gateway and its reason.
 */
const { fast2sms, msg91, twofactor } = setUpGatewaysTest();

const OPERATOR_STATE =
  /balance|wallet|kyc|key|ip address|blocked|blacklist|disabled|account|template|sender|msg91|2factor|twofactor|vendor|\b4\d\d\b/i;

type Row = [string, GatewayReply, { delivery: "not_sent" | "unknown"; reason: string; detail: RegExp }];

const NOT_SENT_FINAL = /unlikely to help/;
const NOT_SENT_RETRY = /Trying again in a few minutes may help/;
const UNKNOWN = /did not confirm the message/;
const NUMBER = /this number/;

const common = (): Row[] => [
  [
    "HTTP 500",
    { status: 500, body: "{}" },
    // After a 5xx (a proxy timeout, say) the message may have gone out: it stays counted.
    { delivery: "unknown", reason: "gateway server error", detail: UNKNOWN },
  ],
  [
    "HTTP 502 HTML",
    { status: 502, body: "<html>" },
    { delivery: "unknown", reason: "answer is not JSON", detail: UNKNOWN },
  ],
  [
    "2xx garbage",
    { status: 200, body: "garbage" },
    { delivery: "unknown", reason: "answer is not JSON", detail: UNKNOWN },
  ],
  [
    "a reset connection",
    { network: true },
    { delivery: "unknown", reason: "network error: TypeError", detail: UNKNOWN },
  ],
  ["a timeout", { hang: true }, { delivery: "unknown", reason: "no answer within 1000 ms", detail: UNKNOWN }],
  [
    "2xx JSON of another shape",
    { status: 200, body: JSON.stringify({ hello: "world" }) },
    // Not an explicit error: a success in a shape the service does not know would otherwise be given back for free.
    { delivery: "unknown", reason: "refused without a known error message", detail: UNKNOWN },
  ],
];

const msg91Rows: Row[] = [
  ...common(),
  [
    "invalid authkey (401)",
    msg91Error(401, "AuthenticationFailure"),
    { delivery: "not_sent", reason: "the gateway rejected the service's auth key", detail: NOT_SENT_FINAL },
  ],
  [
    "invalid authkey as 200",
    msg91Error(200, "Invalid authkey"),
    { delivery: "not_sent", reason: "the gateway rejected the service's auth key", detail: NOT_SENT_FINAL },
  ],
  [
    "insufficient balance",
    msg91Error(200, "Insufficient balance"),
    { delivery: "not_sent", reason: "the gateway account has insufficient balance", detail: NOT_SENT_FINAL },
  ],
  [
    "invalid template",
    msg91Error(400, "Invalid template_id"),
    {
      delivery: "not_sent",
      reason: "the OTP template is missing, invalid or not approved at the gateway",
      detail: NOT_SENT_FINAL,
    },
  ],
  [
    "IP not whitelisted",
    msg91Error(400, "IP not whitelisted"),
    { delivery: "not_sent", reason: "the service's IP address is not allowed by the gateway", detail: NOT_SENT_FINAL },
  ],
  [
    "account blocked",
    msg91Error(400, "Your account is suspended"),
    { delivery: "not_sent", reason: "the gateway account is disabled", detail: NOT_SENT_FINAL },
  ],
  [
    "rate limited",
    msg91Error(429, "Too many requests"),
    { delivery: "not_sent", reason: "the gateway's rate limit was reached", detail: NOT_SENT_RETRY },
  ],
  [
    "invalid mobile",
    msg91Error(400, "Mobile no. not valid"),
    { delivery: "not_sent", reason: "the phone number was refused by the gateway", detail: NUMBER },
  ],
  [
    "an unknown error",
    msg91Error(400, "Something new"),
    { delivery: "not_sent", reason: "refused without a known error message", detail: NOT_SENT_FINAL },
  ],
];

const twoFactorRows: Row[] = [
  ...common(),
  [
    "invalid API key",
    twoFactorError(200, "Invalid API Key"),
    { delivery: "not_sent", reason: "the gateway rejected the service's API key", detail: NOT_SENT_FINAL },
  ],
  [
    "insufficient balance",
    twoFactorError(200, "Insufficient Balance"),
    { delivery: "not_sent", reason: "the gateway account has insufficient balance", detail: NOT_SENT_FINAL },
  ],
  [
    "template not found",
    twoFactorError(400, "Template Name Not Found"),
    {
      delivery: "not_sent",
      reason: "the SMS template is missing, invalid or not approved at the gateway",
      detail: NOT_SENT_FINAL,
    },
  ],
  [
    "account blocked",
    twoFactorError(200, "Account Blocked"),
    { delivery: "not_sent", reason: "the gateway account is disabled", detail: NOT_SENT_FINAL },
  ],
  [
    "invalid phone",
    twoFactorError(200, "Invalid Phone Number - Length Mismatch(Expected: 10)"),
    { delivery: "not_sent", reason: "the phone number was refused by the gateway", detail: NUMBER },
  ],
  [
    "invalid OTP",
    twoFactorError(200, "Invalid OTP"),
    { delivery: "not_sent", reason: "the gateway refused the code's format", detail: NOT_SENT_FINAL },
  ],
];

describe.each([
  ["msg91", msg91Rows, () => msg91 as { respond(r: GatewayReply): void; requests: unknown[] }],
  ["twofactor", twoFactorRows, () => twofactor as { respond(r: GatewayReply): void; requests: unknown[] }],
] as const)("%s alone: every failure → 502 sms_failed, the reason only in the log", (gateway, rows, fake) => {
  const settings = { SMS_PROVIDERS: gateway };
  it.each(rows)("%s", async (_, reply, expected) => {
    fake().respond(reply);
    const log = captureConsole();
    const phone = uniquePhone();
    const res = await callWith(settings, "/send-otp", { json: { phone } });
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(expected.detail);
    expect(res.body.detail).not.toMatch(OPERATOR_STATE);
    const [line] = log.events("sms.failed");
    expect(line).toMatchObject({ provider: gateway, delivery: expected.delivery, reason: expected.reason });
    const everything = [...log.raw, JSON.stringify(res.body)].join("\n");
    for (const key of GATEWAY_KEYS) expect(everything).not.toContain(key);
    expect(await limiterFor(env.PHONE_LIMITER, phone).newestLiveCode(5)).toBeNull();
    expect(fake().requests).toHaveLength(1);
    expect(fast2sms.requests).toHaveLength(0);
  });
});

describe("the requests each gateway gets", () => {
  it("MSG91: POST /api/v5/otp with template_id, 91 + the national number and our code; the key only in the authkey header", async () => {
    const phone = uniquePhone();
    expect((await callWith({ SMS_PROVIDERS: "msg91" }, "/send-otp", { json: { phone } })).status).toBe(200);
    const [req] = msg91.requests;
    expect(req!.method).toBe("POST");
    expect(new URL(req!.url).pathname).toBe("/api/v5/otp");
    expect(req!.query).toEqual({
      template_id: "64f0a1b2c3d4e5f601234567",
      mobile: `91${phone.slice(3)}`,
      otp: expect.stringMatching(/^\d{6}$/),
    });
    expect(req!.headers.authkey).toBe("test-msg91-key-5b2c");
    expect(req!.url).not.toContain("test-msg91-key-5b2c");
  });

  it("2Factor: GET /API/V1/{key}/SMS/{91 + number}/{code}[/{template}]", async () => {
    const phone = uniquePhone();
    const settings = { SMS_PROVIDERS: "twofactor", TWOFACTOR_TEMPLATE_NAME: "Kirana OTP" };
    expect((await callWith(settings, "/send-otp", { json: { phone } })).status).toBe(200);
    expect(twofactor.requests[0]).toMatchObject({
      method: "GET",
      apiKey: "test-2factor-key-9d4e",
      kind: "SMS",
      phone: `91${phone.slice(3)}`,
      code: expect.stringMatching(/^\d{6}$/),
      template: "Kirana OTP",
    });
  });
});
