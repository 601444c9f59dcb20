import { describe, expect, it } from "vitest";
import { loadSettings } from "../../src/config/settings";
import { MisconfiguredError } from "../../src/errors/service-error";
import { codeMatches, hashCode } from "../../src/otp/code-hash";
import { describeWait } from "../../src/otp/describe-wait";
import { generateCode } from "../../src/otp/generate-code";
import { maskPhone } from "../../src/phone/mask-phone";

describe("generateCode", () => {
  it.each([4, 6, 8, 10])("makes %i digits", (length) => {
    for (let i = 0; i < 200; i++) expect(generateCode(length)).toMatch(new RegExp(`^[0-9]{${length}}$`));
  });

  it("uses every digit equally in every position (no modulo bias)", () => {
    const counts = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const code = generateCode(6);
      for (let p = 0; p < 6; p++) counts[p]![Number(code[p])]! += 1;
    }
    // Pearson's chi-square per position, 9 degrees of freedom. 46.0 is its
    // 1 - 1e-6 quantile, so a uniform generator fails this about once in
    // 170,000 runs. A plain \`byte % 10\` (digits 0-5 at 26/256, 6-9 at 25/256)
    // scores about 82 at this n, so the test catches that bias.
    const expected = n / 10;
    for (const position of counts) {
      const chiSquare = position.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
      expect(chiSquare).toBeLessThan(46.0);
    }
  });
});

describe("code hash", () => {
  const secret = "s".repeat(32);
  it("matches only the same phone, code id and code", async () => {
    const hash = await hashCode(secret, "+919876543210", "id-1", "123456");
    expect(hash).not.toContain("123456");
    expect(await codeMatches(secret, "+919876543210", "id-1", "123456", hash)).toBe(true);
    expect(await codeMatches(secret, "+919876543210", "id-1", "123457", hash)).toBe(false);
    expect(await codeMatches(secret, "+919876543211", "id-1", "123456", hash)).toBe(false);
    expect(await codeMatches(secret, "+919876543210", "id-2", "123456", hash)).toBe(false);
    expect(await codeMatches("t".repeat(32), "+919876543210", "id-1", "123456", hash)).toBe(false);
    expect(await codeMatches(secret, "+919876543210", "id-1", "123456", "%%%not-base64")).toBe(false);
  });
});

describe("maskPhone", () => {
  it("keeps the country code and the last four digits", () => {
    expect(maskPhone("+919876543210")).toBe("+91******3210");
    expect(maskPhone("+123")).toBe("****");
  });
});

describe("describeWait", () => {
  it("rounds up to seconds, minutes or hours", () => {
    expect(describeWait(0.2)).toBe("1 second");
    expect(describeWait(20)).toBe("20 seconds");
    expect(describeWait(600)).toBe("10 minutes");
    expect(describeWait(23.5 * 3600)).toBe("24 hours");
  });
});

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
      maxFailuresPerDay: 10,
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
    expect(s.fast2sms).toMatchObject({ baseUrl: "https://www.fast2sms.com", route: "otp", timeoutMs: 10_000 });
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
    const s = loadSettings({ ...base, CORS_ORIGINS: "https://a.example, http://localhost:3000", ALLOWED_COUNTRIES: "in, gb" });
    expect(s.corsOrigins).toEqual(["https://a.example", "http://localhost:3000"]);
    expect(s.allowedCountries).toEqual(["IN", "GB"]);
  });
});
