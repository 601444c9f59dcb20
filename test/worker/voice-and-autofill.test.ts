import { describe, expect, it } from "vitest";
import { loadSettings } from "../../src/kernel/config/settings";
import { MisconfiguredError } from "../../src/kernel/errors/service-error";
import { MAX_AUTOFILL_SMS_BYTES, otpMessageText, smsBytes } from "../../src/kernel/otp-message";
import { callWith, lastVerificationId, uniquePhone } from "../helpers/api";
import { twoFactorError } from "../helpers/fake-twofactor";
import { captureConsole } from "../helpers/log-capture";
import { expectProblem } from "../helpers/problem";
import { setClock, setUpGatewaysTest } from "../helpers/setup";

const { fast2sms, msg91, twofactor } = setUpGatewaysTest();

const HASH = "FA+9qCX9VSu";

describe("voice: a call that speaks the code", () => {
  const ALL = { SMS_PROVIDERS: "fast2sms,msg91,twofactor" };

  it("goes to the first gateway that can call (2Factor), and the code verifies", async () => {
    const log = captureConsole();
    const phone = uniquePhone();
    const res = await callWith(ALL, "/send-otp", { json: { phone, channel: "voice" } });
    expect(res.status).toBe(200);
    expect([fast2sms.requests.length, msg91.requests.length]).toEqual([0, 0]);
    expect(twofactor.requests[0]).toMatchObject({ kind: "VOICE", phone: `91${phone.slice(3)}`, template: undefined });
    expect(log.events("sms.sent")).toEqual([expect.objectContaining({ gateway: "twofactor", channel: "voice" })]);
    const verified = await callWith(ALL, "/verify-otp", {
      json: { phone, otp: twofactor.lastCode(), verification_id: lastVerificationId(phone) },
    });
    expect(verified.status).toBe(200);
  });

  it("with no gateway that can call: 400 channel_not_available, nothing taken or sent", async () => {
    const phone = uniquePhone();
    const settings = { SMS_PROVIDERS: "fast2sms,msg91", OTP_MAX_SENDS_PER_HOUR: "1" };
    const res = await callWith(settings, "/send-otp", { json: { phone, channel: "voice" } });
    expectProblem(res, 400, "channel_not_available");
    expect(fast2sms.requests.length + msg91.requests.length + twofactor.requests.length).toBe(0);
    // Nothing was counted: the one send an hour is still there.
    expect((await callWith(settings, "/send-otp", { json: { phone } })).status).toBe(200);
  });

  it("the default provider (Fast2SMS alone) cannot call", async () => {
    expectProblem(
      await callWith({}, "/send-otp", { json: { phone: uniquePhone(), channel: "voice" } }),
      400,
      "channel_not_available",
    );
  });

  it("channel whatsapp without the WhatsApp settings is 400 channel_not_available", async () => {
    expectProblem(
      await callWith(ALL, "/send-otp", { json: { phone: uniquePhone(), channel: "whatsapp" } }),
      400,
      "channel_not_available",
    );
  });

  it.each(["VOICE", "WhatsApp", "", 1, null])("channel %j is 400 invalid_request", async (channel) => {
    expectProblem(
      await callWith(ALL, "/send-otp", { json: { phone: uniquePhone(), channel } }),
      400,
      "invalid_request",
    );
  });

  it('"channel": "sms" is the default', async () => {
    expect((await callWith(ALL, "/send-otp", { json: { phone: uniquePhone(), channel: "sms" } })).status).toBe(200);
    expect(fast2sms.requests).toHaveLength(1);
  });

  it("a call takes 2 units of SMS_DAILY_BUDGET: with 3 left, one call and one SMS, then nothing", async () => {
    setClock(Date.UTC(2034, 6, 1, 9, 0, 0));
    const settings = { ...ALL, SMS_DAILY_BUDGET: "3" };
    expect((await callWith(settings, "/send-otp", { json: { phone: uniquePhone(), channel: "voice" } })).status).toBe(
      200,
    );
    expectProblem(
      await callWith(settings, "/send-otp", { json: { phone: uniquePhone(), channel: "voice" } }),
      503,
      "sms_budget_exhausted",
    );
    expect((await callWith(settings, "/send-otp", { json: { phone: uniquePhone() } })).status).toBe(200);
    expectProblem(
      await callWith(settings, "/send-otp", { json: { phone: uniquePhone() } }),
      503,
      "sms_budget_exhausted",
    );
  });

  it("a call obeys the number's limits as an SMS does (the cooldown)", async () => {
    const phone = uniquePhone();
    expect((await callWith(ALL, "/send-otp", { json: { phone } })).status).toBe(200);
    expectProblem(await callWith(ALL, "/send-otp", { json: { phone, channel: "voice" } }), 429, "rate_limited");
  });

  it("a failed call: 502 sms_failed, and the SMS-only gateways are not asked", async () => {
    twofactor.respond(twoFactorError(200, "Insufficient Balance"));
    const res = await callWith(ALL, "/send-otp", { json: { phone: uniquePhone(), channel: "voice" } });
    expectProblem(res, 502, "sms_failed");
    expect([fast2sms.requests.length, msg91.requests.length]).toEqual([0, 0]);
  });
});

describe("autofill: the hash and the @host #code line", () => {
  const Q = { FAST2SMS_ROUTE: "q", SMS_APP_HASH: HASH, OTP_WEB_DOMAIN: "otp.example.com", APP_NAME: "Kirana" };

  it("Fast2SMS's q route: the hash, and the last line is exactly @host #code", async () => {
    const phone = uniquePhone();
    expect((await callWith(Q, "/send-otp", { json: { phone } })).status).toBe(200);
    const text = fast2sms.requests[0]!.body.message!;
    const code = /is (\d{6})\n/.exec(text)?.[1];
    expect(code).toMatch(/^\d{6}$/);
    expect(text).toBe(`Your Kirana verification code is ${code}\n${HASH}\n@otp.example.com #${code}`);
    expect(text.split("\n").at(-1)).toBe(`@otp.example.com #${code}`);
    const verified = await callWith(Q, "/verify-otp", {
      json: { phone, otp: code, verification_id: lastVerificationId(phone) },
    });
    expect(verified.status).toBe(200);
  });

  it("only the hash, or only the domain", () => {
    expect(otpMessageText("A", "1234", { appHash: HASH, webDomain: undefined })).toBe(
      `Your A verification code is 1234\n${HASH}`,
    );
    expect(otpMessageText("A", "1234", { appHash: undefined, webDomain: "a.example" })).toBe(
      "Your A verification code is 1234\n@a.example #1234",
    );
  });

  it("Fast2SMS's dlt route with a domain fills the template's two variables with the code", async () => {
    const settings = {
      FAST2SMS_ROUTE: "dlt",
      FAST2SMS_SENDER_ID: "KIRANA",
      FAST2SMS_TEMPLATE_ID: "165432",
      SMS_APP_HASH: HASH,
      OTP_WEB_DOMAIN: "otp.example.com",
    };
    expect((await callWith(settings, "/send-otp", { json: { phone: uniquePhone() } })).status).toBe(200);
    expect(fast2sms.requests[0]!.body.variables_values).toMatch(/^(\d{6})\|\1$/);
  });

  const base = { SMS_PROVIDER: "console", JWT_SECRET: "j".repeat(32), OTP_HASH_SECRET: "h".repeat(32) };
  const domain = "otp.example.com";

  it.each([4, 5, 6, 7, 8, 9, 10])(
    "OTP_LENGTH %i: the longest APP_NAME that fits is accepted, one more byte is misconfigured",
    (length) => {
      const fixed = smsBytes(otpMessageText("", "0".repeat(length), { appHash: HASH, webDomain: domain }));
      const room = MAX_AUTOFILL_SMS_BYTES - fixed;
      const fits = {
        ...base,
        OTP_LENGTH: String(length),
        SMS_APP_HASH: HASH,
        OTP_WEB_DOMAIN: domain,
        APP_NAME: "K".repeat(room),
      };
      const s = loadSettings(fits);
      expect(smsBytes(otpMessageText(s.appName, "9".repeat(length), s.autofill))).toBe(MAX_AUTOFILL_SMS_BYTES);
      let error: unknown;
      try {
        loadSettings({ ...fits, APP_NAME: "K".repeat(room + 1) });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(MisconfiguredError);
      expect((error as MisconfiguredError).settings).toEqual(["APP_NAME", "OTP_WEB_DOMAIN"]);
    },
  );

  it("a non-Latin APP_NAME counts as the phone sends it (UCS-2: 2 bytes a character)", () => {
    expect(smsBytes("किराना")).toBe(18); // UTF-8 is the larger count here
    expect(smsBytes("Ünïcødé ✓")).toBe(18);
    expect(() =>
      loadSettings({ ...base, SMS_APP_HASH: HASH, OTP_WEB_DOMAIN: domain, APP_NAME: "किराना स्टोर दुकान" }),
    ).toThrow(MisconfiguredError);
  });

  it("a too-long message answers 500 misconfigured before anything is sent", async () => {
    const res = await callWith({ ...Q, APP_NAME: "K".repeat(120) }, "/send-otp", {
      json: { phone: uniquePhone() },
    });
    expectProblem(res, 500, "misconfigured");
    expect(res.body.detail).toMatch(/APP_NAME/);
    expect(fast2sms.requests).toHaveLength(0);
  });

  const causeOf = (env: Record<string, unknown>) => {
    try {
      loadSettings(env);
    } catch (err) {
      return err as MisconfiguredError;
    }
    throw new Error("accepted");
  };

  it.each([
    [{ SMS_APP_HASH: "short" }, ["SMS_APP_HASH"]],
    [{ SMS_APP_HASH: "FA+9qCX9VS!" }, ["SMS_APP_HASH"]],
    [{ OTP_WEB_DOMAIN: "https://otp.example.com" }, ["OTP_WEB_DOMAIN"]],
    [{ OTP_WEB_DOMAIN: "otp.example.com/login" }, ["OTP_WEB_DOMAIN"]],
    [{ OTP_WEB_DOMAIN: "otp.example.com:443" }, ["OTP_WEB_DOMAIN"]],
    [{ OTP_WEB_DOMAIN: "-bad.example.com" }, ["OTP_WEB_DOMAIN"]],
    // Fast2SMS's otp route sends a fixed text: nothing can carry the hash or the domain.
    [{ SMS_PROVIDER: "fast2sms", FAST2SMS_API_KEY: "k", SMS_APP_HASH: HASH }, ["SMS_APP_HASH"]],
    [{ SMS_PROVIDER: "fast2sms", FAST2SMS_API_KEY: "k", OTP_WEB_DOMAIN: domain }, ["OTP_WEB_DOMAIN"]],
    // 2Factor's default text cannot either: a template is needed.
    [{ SMS_PROVIDERS: "twofactor", TWOFACTOR_API_KEY: "abcdef12-3456", SMS_APP_HASH: HASH }, ["SMS_APP_HASH"]],
    // Each gateway's own requirements.
    [{ SMS_PROVIDERS: "msg91" }, ["MSG91_AUTH_KEY", "MSG91_TEMPLATE_ID"]],
    [{ SMS_PROVIDERS: "twofactor" }, ["TWOFACTOR_API_KEY"]],
    [{ SMS_PROVIDERS: "twofactor", TWOFACTOR_API_KEY: "has/a/slash" }, ["TWOFACTOR_API_KEY"]],
    [{ SMS_PROVIDERS: "fast2sms,sinch", FAST2SMS_API_KEY: "k" }, ["SMS_PROVIDERS"]],
    [{ SMS_PROVIDERS: "console,fast2sms", FAST2SMS_API_KEY: "k" }, ["SMS_PROVIDERS"]],
    [{ SMS_PROVIDERS: "msg91,msg91", MSG91_AUTH_KEY: "k", MSG91_TEMPLATE_ID: "t" }, ["SMS_PROVIDERS"]],
    [
      { SMS_PROVIDERS: "msg91", MSG91_AUTH_KEY: "k", MSG91_TEMPLATE_ID: "t", ALLOWED_COUNTRIES: "IN,GB" },
      ["ALLOWED_COUNTRIES"],
    ],
  ])("%j is misconfigured, naming %j and no value", (overrides, names) => {
    const error = causeOf({ ...base, ...overrides });
    expect(error).toBeInstanceOf(MisconfiguredError);
    expect(error.settings).toEqual(names);
    for (const value of Object.values(overrides)) {
      if (value.length > 3 && !/^[a-z0-9,]+$/.test(value)) expect(String(error.cause)).not.toContain(value);
    }
  });

  it("accepted: the q route, the dlt route and 2Factor with a template carry autofill", () => {
    const autofill = { SMS_APP_HASH: HASH, OTP_WEB_DOMAIN: "OTP.Example.com" };
    expect(
      loadSettings({ ...base, ...autofill, SMS_PROVIDER: "fast2sms", FAST2SMS_API_KEY: "k", FAST2SMS_ROUTE: "q" })
        .autofill,
    ).toEqual({
      appHash: HASH,
      webDomain: "otp.example.com",
    });
    expect(() =>
      loadSettings({
        ...base,
        ...autofill,
        SMS_PROVIDERS: "twofactor,msg91",
        TWOFACTOR_API_KEY: "abcdef12-3456",
        TWOFACTOR_TEMPLATE_NAME: "OTP1",
        MSG91_AUTH_KEY: "k",
        MSG91_TEMPLATE_ID: "64f0a1b2c3d4e5f601234567",
      }),
    ).not.toThrow();
  });

  it("SMS_PROVIDERS wins over SMS_PROVIDER; empty falls back to it", () => {
    const both = loadSettings({
      ...base,
      SMS_PROVIDER: "console",
      SMS_PROVIDERS: "msg91",
      MSG91_AUTH_KEY: "k",
      MSG91_TEMPLATE_ID: "t",
    });
    expect(both.smsGateways).toEqual(["msg91"]);
    expect(loadSettings({ ...base, SMS_PROVIDERS: " " }).smsGateways).toEqual(["console"]);
  });
});
