import { describe, expect, it } from "vitest";
import { loadSettings } from "../../src/kernel/config/settings";
import { MisconfiguredError } from "../../src/kernel/errors/service-error";

describe("loadSettings", () => {
  const base = {
    SMS_PROVIDER: "console",
    JWT_SECRET: "j".repeat(32),
    OTP_HASH_SECRET: "h".repeat(32),
  };

  it("applies the documented defaults", () => {
    const s = loadSettings({ ...base });
    expect(s.otp).toMatchObject({
      length: 6,
      ttlSeconds: 300,
      maxAttempts: 5,
      maxFailuresPerClientPerDay: 10,
      maxFailuresPerNumberPerDay: 100,
      requireVerificationId: true,
      resendCooldownSeconds: 30,
      maxSendsPerHour: 3,
    });
    expect(s.allowedCountries).toEqual(["IN"]);
    expect(s.jwt.ttlSeconds).toBe(900);
    expect(s.sessions).toEqual({
      refreshTtlSeconds: 2_592_000,
      maxAgeSeconds: 7_776_000,
      maxPerNumber: 10,
      reuseGraceSeconds: 10,
      maxRefreshesPerIpPerHour: 600,
    });
    expect(s.gateways.fast2sms).toMatchObject({ baseUrl: "https://www.fast2sms.com", route: "otp", timeoutMs: 10_000 });
  });

  it("defaults to the fast2sms provider, which needs its key", () => {
    expect(() => loadSettings({ JWT_SECRET: base.JWT_SECRET, OTP_HASH_SECRET: base.OTP_HASH_SECRET })).toThrow(
      /FAST2SMS_API_KEY/,
    );
  });

  it.each([
    ["OTP_LENGTH", "11"],
    ["OTP_LENGTH", "six"],
    ["OTP_TTL_SECONDS", "59"],
    ["OTP_TTL_SECONDS", "601"],
    ["OTP_MAX_FAILURES_PER_DAY", "101"],
    ["OTP_MAX_FAILURES_PER_NUMBER_PER_DAY", "101"],
    ["OTP_REQUIRE_VERIFICATION_ID", "yes"],
    ["JWT_TTL_SECONDS", "1.5"],
    ["SMS_PROVIDER", "twilio"],
    ["FAST2SMS_BASE_URL", "ftp://example.com"],
    ["ALLOWED_COUNTRIES", "INDIA"],
    ["CORS_ORIGINS", "https://app.example.com/path"],
    ["OTP_HASH_SECRET", "tooshort-secret-value"],
  ])("refuses %s=%s, naming the setting but never the value", (name, value) => {
    let error: unknown;
    try {
      loadSettings({ ...base, [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MisconfiguredError);
    expect((error as MisconfiguredError).settings).toEqual([name]);
    expect((error as Error).message).not.toContain(value);
    expect(String((error as Error).cause)).not.toContain(value);
  });

  it("parses CORS_ORIGINS and ALLOWED_COUNTRIES lists", () => {
    const s = loadSettings({
      ...base,
      CORS_ORIGINS: "https://a.example, http://localhost:3000",
      ALLOWED_COUNTRIES: "in, gb",
    });
    expect(s.corsOrigins).toEqual(["https://a.example", "http://localhost:3000"]);
    expect(s.allowedCountries).toEqual(["IN", "GB"]);
  });
});

describe("settings error messages: what is expected, never the value", () => {
  const base = { SMS_PROVIDER: "console", JWT_SECRET: "j".repeat(32), OTP_HASH_SECRET: "h".repeat(32) };
  const causeOf = (env: Record<string, unknown>): string => {
    try {
      loadSettings(env);
    } catch (err) {
      expect(err).toBeInstanceOf(MisconfiguredError);
      return String((err as MisconfiguredError).cause);
    }
    throw new Error("the settings were accepted");
  };

  it.each([
    [{ OTP_LENGTH: "3" }, "OTP_LENGTH must be a whole number from 4 to 10"],
    [{ OTP_REQUIRE_VERIFICATION_ID: "maybe" }, "OTP_REQUIRE_VERIFICATION_ID must be true or false"],
    [{ OTP_HASH_SECRET: "short-secret" }, "OTP_HASH_SECRET must be at least 32 bytes"],
    [{ SMS_PROVIDER: "twilio" }, "SMS_PROVIDER must be fast2sms or console"],
    [{ FAST2SMS_BASE_URL: "ftp://x" }, "FAST2SMS_BASE_URL must be an http(s) URL"],
    [{ CORS_ORIGINS: "not-an-origin" }, "CORS_ORIGINS must be * or a comma-separated list of origins"],
    [{ TEST_PHONE_NUMBERS: "+919999999999" }, "TEST_PHONE_NUMBERS must be a comma-separated list of number:code pairs"],
  ])("%j → %s", (overrides, message) => {
    const cause = causeOf({ ...base, ...overrides });
    expect(cause).toContain(message);
    for (const value of Object.values(overrides)) expect(cause).not.toContain(value);
  });
});

describe("settings problems are reported together", () => {
  it("a bad TEST_PHONE_NUMBERS joins the other problems instead of being thrown alone", () => {
    const base = { SMS_PROVIDER: "console", JWT_SECRET: "j".repeat(32), OTP_HASH_SECRET: "h".repeat(32) };
    try {
      loadSettings({ ...base, TEST_PHONE_NUMBERS: "+15555550100:123456", JWT_TTL_SECONDS: "5" });
      throw new Error("the settings were accepted");
    } catch (err) {
      expect(err).toBeInstanceOf(MisconfiguredError);
      expect((err as MisconfiguredError).settings).toEqual(["JWT_TTL_SECONDS", "TEST_PHONE_NUMBERS"]);
    }
  });
});
