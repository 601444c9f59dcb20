import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { limiterFor } from "../../src/platform/limiter/phone-limiter";
import { callWith, envWith, lastVerificationId, uniquePhone, withEnv } from "../helpers/api";
import { ok, refused } from "../helpers/fake-fast2sms";
import { msg91Error } from "../helpers/fake-msg91";
import { twoFactorError } from "../helpers/fake-twofactor";
import { captureConsole, GATEWAY_KEYS } from "../helpers/log-capture";
import { expectProblem } from "../helpers/problem";
import { setClock, setUpGatewaysTest } from "../helpers/setup";

/**
 * Failover: with Fast2SMS failing, the next gateway gets the same code and the
 * user signs in; a refusal of the number stops the chain; every limit counts
 * one send per request; a gateway that keeps failing is skipped for a while.
 */
const { fast2sms, msg91, twofactor } = setUpGatewaysTest();

const ALL = { SMS_PROVIDERS: "fast2sms,msg91,twofactor" };
const TWO = { SMS_PROVIDERS: "fast2sms,msg91" };

const send = (settings: Record<string, unknown>, phone: string) => callWith(settings, "/send-otp", { json: { phone } });
const verify = (settings: Record<string, unknown>, phone: string, otp: string) =>
  callWith(settings, "/verify-otp", { json: { phone, otp, verification_id: lastVerificationId(phone) } });

/** Each way Fast2SMS can fail that another gateway could avoid, and whether the first SMS may still arrive. */
const failovers = [
  ["HTTP 500", { status: 500, body: "{}" }, "unknown", "gateway server error"],
  ["HTTP 503 with an HTML page", { status: 503, body: "<html>down</html>" }, "unknown", "answer is not JSON"],
  ["a 2xx answer that is not JSON", { status: 200, body: "<html>ok?</html>" }, "unknown", "answer is not JSON"],
  ["a lost connection", { network: true as const }, "unknown", "network error: TypeError"],
  ["a timeout", { hang: true as const }, "unknown", "no answer within 1000 ms"],
  ["insufficient balance (416)", refused(400, 416), "not_sent", "the gateway account has insufficient balance"],
  ["a rejected key (412)", refused(401, 412), "not_sent", "the gateway rejected the service's API key"],
  [
    "KYC not done (996)",
    refused(400, 996),
    "not_sent",
    "the gateway account must complete KYC before using the OTP route",
  ],
  ["a refused DLT template (425)", refused(400, 425), "not_sent", "the DLT template is invalid"],
] as const;

describe("failover: the next gateway gets the same code, and it verifies", () => {
  it.each(failovers)("Fast2SMS fails with %s → MSG91 delivers", async (_, reply, delivery, reason) => {
    fast2sms.respond(reply);
    const log = captureConsole();
    const phone = uniquePhone();
    const res = await send(TWO, phone);
    expect(res.status).toBe(200);
    expect(fast2sms.requests).toHaveLength(1);
    expect(msg91.requests).toHaveLength(1);
    const code = msg91.lastCode();
    expect(code).toBe(fast2sms.lastCode());
    expect(log.events("sms.gateway_failed")).toEqual([
      expect.objectContaining({
        gateway: "fast2sms",
        channel: "sms",
        delivery,
        reason,
        to: `+91******${phone.slice(-4)}`,
      }),
    ]);
    expect(log.events("sms.sent")).toEqual([
      {
        event: "sms.sent",
        to: `+91******${phone.slice(-4)}`,
        gateway: "msg91",
        channel: "sms",
        duration_ms: expect.any(Number),
        failed_over_from: ["fast2sms"],
      },
    ]);
    expect(log.events("sms.failed")).toHaveLength(0);
    expect((await verify(TWO, phone, code)).status).toBe(200);
  });

  it("MSG91 down too: 2Factor gets the same code", async () => {
    fast2sms.respond({ status: 500, body: "{}" });
    msg91.respond({ hang: true });
    const phone = uniquePhone();
    expect((await send(ALL, phone)).status).toBe(200);
    expect(twofactor.requests).toHaveLength(1);
    expect(twofactor.requests[0]).toMatchObject({ kind: "SMS", phone: `91${phone.slice(3)}` });
    const code = twofactor.lastCode();
    expect([fast2sms.lastCode(), msg91.lastCode()]).toEqual([code, code]);
    expect((await verify(ALL, phone, code)).status).toBe(200);
  });

  it("the first gateway that accepts ends the send: the others get nothing", async () => {
    const phone = uniquePhone();
    expect((await send(ALL, phone)).status).toBe(200);
    expect([fast2sms.requests.length, msg91.requests.length, twofactor.requests.length]).toEqual([1, 0, 0]);
  });

  it("the order is SMS_PROVIDERS' order, and SMS_PROVIDERS wins over SMS_PROVIDER", async () => {
    const settings = { SMS_PROVIDER: "fast2sms", SMS_PROVIDERS: "twofactor,msg91" };
    twofactor.respond(twoFactorError(200, "Insufficient Balance"));
    const phone = uniquePhone();
    expect((await send(settings, phone)).status).toBe(200);
    expect([fast2sms.requests.length, twofactor.requests.length, msg91.requests.length]).toEqual([0, 1, 1]);
  });
});

describe("when no gateway delivers", () => {
  it("every gateway refuses cleanly: 502, nothing counted, the person may ask again at once", async () => {
    fast2sms.respond(refused(400, 416, "Insufficient wallet balance"));
    msg91.respond(msg91Error(200, "Insufficient balance"));
    twofactor.respond(twoFactorError(200, "Invalid API Key"));
    const log = captureConsole();
    const phone = uniquePhone();
    const res = await send(ALL, phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/^The SMS could not be sent/);
    const [failed] = log.events("sms.failed");
    expect(failed).toMatchObject({
      provider: "fast2sms,msg91,twofactor",
      delivery: "not_sent",
      attempts: [
        { gateway: "fast2sms", reason: "the gateway account has insufficient balance", http_status: 400 },
        { gateway: "msg91", reason: "the gateway account has insufficient balance" },
        { gateway: "twofactor", reason: "the gateway rejected the service's API key" },
      ],
    });
    expect(log.events("sms.gateway_failed").map((l) => l.gateway)).toEqual(["fast2sms", "msg91", "twofactor"]);
    // Nothing went out: the code is dropped and the send is given back.
    expect(await limiterFor(env.PHONE_LIMITER, phone).newestLiveCode(5)).toBeNull();
    fast2sms.respond(ok());
    expect((await send(ALL, phone)).status).toBe(200);
  });

  it("one gateway timed out: the outcome is unknown, the code is dead and the send stays counted", async () => {
    fast2sms.respond({ hang: true });
    msg91.respond({ status: 502, body: "bad gateway" });
    const log = captureConsole();
    const phone = uniquePhone();
    const res = await send(TWO, phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/did not confirm the message/);
    expect(log.events("sms.failed")[0]).toMatchObject({ delivery: "unknown" });
    expect(await limiterFor(env.PHONE_LIMITER, phone).newestLiveCode(5)).toBeNull();
    fast2sms.respond(ok());
    msg91.install();
    expectProblem(await send(TWO, phone), 429, "rate_limited");
  });

  it("a refusal of the number stops the chain: no other gateway is asked", async () => {
    fast2sms.respond(refused(400, 411, "Invalid Numbers"));
    const phone = uniquePhone();
    const res = await send(ALL, phone);
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/this number/);
    expect([msg91.requests.length, twofactor.requests.length]).toEqual([0, 0]);
  });

  it("MSG91's refusal of the number stops the chain too", async () => {
    fast2sms.respond(refused(400, 416));
    msg91.respond(msg91Error(400, "Mobile no. not valid"));
    const res = await send(ALL, uniquePhone());
    expectProblem(res, 502, "sms_failed");
    expect(res.body.detail).toMatch(/this number/);
    expect(twofactor.requests).toHaveLength(0);
  });
});

describe("limits count one send per request, however many gateways were tried", () => {
  it("SMS_DAILY_BUDGET=2: two sends that each failed over twice spend it, the third is refused", async () => {
    setClock(Date.UTC(2033, 2, 3, 10, 0, 0));
    const settings = { ...ALL, SMS_DAILY_BUDGET: "2" };
    fast2sms.respond({ status: 500, body: "{}" });
    msg91.respond({ status: 500, body: "{}" });
    expect((await send(settings, uniquePhone())).status).toBe(200);
    expect((await send(settings, uniquePhone())).status).toBe(200);
    expectProblem(await send(settings, uniquePhone()), 503, "sms_budget_exhausted");
    expect(twofactor.requests).toHaveLength(2);
  });

  it("the per-number hourly limit counts a failed-over send once", async () => {
    setClock(Date.UTC(2033, 2, 4, 10, 0, 0));
    const settings = { ...TWO, OTP_MAX_SENDS_PER_HOUR: "2", OTP_RESEND_COOLDOWN_SECONDS: "0" };
    fast2sms.respond({ status: 500, body: "{}" });
    const phone = uniquePhone();
    expect((await send(settings, phone)).status).toBe(200);
    expect((await send(settings, phone)).status).toBe(200);
    expectProblem(await send(settings, phone), 429, "rate_limited");
  });

  it("test numbers still send nothing, through any gateway", async () => {
    const settings = { ...ALL, TEST_PHONE_NUMBERS: "+919999999999:123456" };
    expect((await send(settings, "+919999999999")).status).toBe(200);
    expect([fast2sms.requests.length, msg91.requests.length, twofactor.requests.length]).toEqual([0, 0, 0]);
  });
});

describe("circuit breaker: a gateway that keeps failing is skipped for a while, then tried again", () => {
  it("opens after 3 failures in a row, skips Fast2SMS for 30 s, then one probe closes it", async () => {
    const start = Date.UTC(2033, 4, 5, 8, 0, 0);
    setClock(start);
    const shared = envWith(TWO); // one settings object, so one set of breakers, as in an isolate
    const sendShared = (phone = uniquePhone()) => withEnv(shared, "/send-otp", { json: { phone } });
    const log = captureConsole();
    fast2sms.respond({ status: 500, body: "{}" });
    for (let i = 0; i < 3; i++) expect((await sendShared()).status).toBe(200);
    expect([fast2sms.requests.length, msg91.requests.length]).toEqual([3, 3]);
    expect(log.events("sms.gateway_failed").at(-1)).toMatchObject({ gateway: "fast2sms", breaker: "open" });

    // Open: Fast2SMS is not asked, MSG91 delivers at once.
    expect((await sendShared()).status).toBe(200);
    setClock(start + 29_000);
    expect((await sendShared()).status).toBe(200);
    expect([fast2sms.requests.length, msg91.requests.length]).toEqual([3, 5]);

    // After the cool-off, one probe: Fast2SMS is back, and it closes.
    fast2sms.respond(ok());
    setClock(start + 31_000);
    expect((await sendShared()).status).toBe(200);
    expect([fast2sms.requests.length, msg91.requests.length]).toEqual([4, 5]);
    expect((await sendShared()).status).toBe(200);
    expect([fast2sms.requests.length, msg91.requests.length]).toEqual([5, 5]);
    expect(log.events("sms.sent").at(-1)).toMatchObject({ gateway: "fast2sms" });
  });

  it("a failed probe opens it for another cool-off", async () => {
    const start = Date.UTC(2033, 4, 6, 8, 0, 0);
    setClock(start);
    const shared = envWith(TWO);
    const sendShared = () => withEnv(shared, "/send-otp", { json: { phone: uniquePhone() } });
    fast2sms.respond({ status: 500, body: "{}" });
    for (let i = 0; i < 3; i++) await sendShared();
    setClock(start + 31_000);
    expect((await sendShared()).status).toBe(200); // the probe fails, MSG91 delivers
    expect(fast2sms.requests).toHaveLength(4);
    setClock(start + 45_000);
    expect((await sendShared()).status).toBe(200);
    expect(fast2sms.requests).toHaveLength(4);
    setClock(start + 62_000);
    fast2sms.respond(ok());
    expect((await sendShared()).status).toBe(200);
    expect(fast2sms.requests).toHaveLength(5);
  });

  it("a refusal of the number does not count against the gateway", async () => {
    setClock(Date.UTC(2033, 4, 7, 8, 0, 0));
    const shared = envWith(TWO);
    fast2sms.respond(refused(400, 411));
    for (let i = 0; i < 4; i++) await withEnv(shared, "/send-otp", { json: { phone: uniquePhone() } });
    expect(fast2sms.requests).toHaveLength(4);
    expect(msg91.requests).toHaveLength(0);
  });
});

describe("a stranger cannot steer the gateways (failover under attack)", () => {
  it("Fast2SMS's 'repeated messages' (995) stops the chain and does not open its breaker", async () => {
    setClock(Date.UTC(2033, 4, 8, 8, 0, 0));
    const shared = envWith(TWO);
    fast2sms.respond(refused(400, 995, "Spamming detected"));
    for (let i = 0; i < 4; i++) {
      expectProblem(await withEnv(shared, "/send-otp", { json: { phone: uniquePhone() } }), 502, "sms_failed");
    }
    // MSG91 was never used to get round Fast2SMS's anti-spam check, and Fast2SMS stays in use for everyone.
    expect(msg91.requests).toHaveLength(0);
    fast2sms.respond(ok());
    expect((await withEnv(shared, "/send-otp", { json: { phone: uniquePhone() } })).status).toBe(200);
    expect(fast2sms.requests).toHaveLength(5);
  });

  it("failed voice calls do not take 2Factor away from SMS users (one breaker per gateway and channel)", async () => {
    setClock(Date.UTC(2033, 4, 9, 8, 0, 0));
    const shared = envWith({ SMS_PROVIDERS: "twofactor,msg91" });
    twofactor.respond({ status: 500, body: "{}" });
    for (let i = 0; i < 3; i++) {
      await withEnv(shared, "/send-otp", { json: { phone: uniquePhone(), channel: "voice" } });
    }
    const before = twofactor.requests.length;
    twofactor.install();
    expect((await withEnv(shared, "/send-otp", { json: { phone: uniquePhone() } })).status).toBe(200);
    expect(twofactor.requests.length).toBe(1);
    expect(before).toBe(3);
    expect(msg91.requests).toHaveLength(0);
  });

  it("an account message that mentions a mobile number is not taken for a refusal of the number: the chain goes on", async () => {
    fast2sms.respond(refused(400, 416));
    msg91.respond(msg91Error(200, "Please verify your mobile number to activate your account"));
    const res = await send(ALL, uniquePhone());
    expect(res.status).toBe(200);
    expect(twofactor.requests).toHaveLength(1);
  });

  it("a redirect is not followed (a key in a header or the path never goes to another host)", async () => {
    msg91.respond({ status: 302, body: "" });
    const phone = uniquePhone();
    const res = await send({ SMS_PROVIDERS: "msg91" }, phone);
    expectProblem(res, 502, "sms_failed");
    expect(msg91.requests).toHaveLength(1);
    const calls = vi.mocked(globalThis.fetch).mock.calls.filter(([input]) => String(input).includes("msg91"));
    expect(calls.map(([, init]) => init?.redirect)).toEqual(["manual"]);
  });
});

describe("no gateway's key in any log line or answer", () => {
  it("across every failure kind of every gateway", async () => {
    const log = captureConsole();
    const bodies: string[] = [];
    const replies = [{ status: 500, body: "{}" }, { network: true as const }, { hang: true as const }];
    for (const reply of replies) {
      fast2sms.respond(reply);
      msg91.respond(reply);
      twofactor.respond(reply);
      bodies.push(JSON.stringify((await send(ALL, uniquePhone())).body));
    }
    fast2sms.respond(refused(401, 412, "Invalid Authentication, Check Authorization Key"));
    msg91.respond(msg91Error(401, "Authentication failure"));
    twofactor.respond(twoFactorError(200, "Invalid API Key"));
    bodies.push(JSON.stringify((await send(ALL, uniquePhone())).body));
    const everything = [...log.raw, ...bodies].join("\n");
    expect(log.events("sms.failed")).toHaveLength(4);
    for (const key of GATEWAY_KEYS) expect(everything).not.toContain(key);
    expect(everything).not.toMatch(/twofactor\.test|msg91\.test|fast2sms\.test/);
  });
});
