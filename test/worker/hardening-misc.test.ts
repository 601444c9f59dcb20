import { describe, expect, it } from "vitest";
import { ADMIN_FAILURES_PER_HOUR } from "../../src/http/middleware/admin-auth";
import { loadSettings } from "../../src/kernel/config/settings";
import { MisconfiguredError } from "../../src/kernel/errors/service-error";
import { type ApiResponse, envWith, get, uniquePhone, withEnv } from "../helpers/api";
import { captureConsole } from "../helpers/log-capture";
import { expectProblem } from "../helpers/problem";
import { setClock, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

const TOKEN = "zRA34o0DDFKhpdDJKJ7nr26qjjJJ_T8wBGGjFrqBK4w";
const auth = { authorization: `Bearer ${TOKEN}` };

describe("request log: no full number in any path", () => {
  it("masks numbers in paths no route matched (raw, +, %2B, with separators), in maskPhone's style", async () => {
    const phone = uniquePhone();
    const national = phone.slice(3);
    const log = captureConsole();
    const paths = [
      `/admin/numbers/${encodeURIComponent(phone)}/sessions`,
      `/admin/numbers/${phone}/sessions`,
      `/lookup/${phone.slice(1)}?phone=${encodeURIComponent(phone)}`,
      `/lookup/0${national.slice(0, 5)}-${national.slice(5)}`,
      `/lookup/${national.slice(0, 5)}%20${national.slice(5)}`,
    ];
    for (const p of paths) expectProblem(await get(p), 404, "not_found");

    const logged = log.events("request").map((l) => l.path as string);
    expect(logged).toHaveLength(paths.length);
    for (const path of logged) {
      // Whatever separates them, the number's digits never appear in a row.
      expect(path.replace(/%2b|%20|\D/gi, "")).not.toContain(national);
    }
    expect(log.raw.join("\n")).not.toContain(national);
    const last4 = phone.slice(-4);
    expect(logged[0]).toBe(`/admin/numbers/%2B91******${last4}/sessions`);
    expect(logged[1]).toBe(`/admin/numbers/+91******${last4}/sessions`);
    expect(logged[3]).toBe(`/lookup/*******${last4}`);

    // Shorter digit runs (years, ids) apart from others are not numbers: the path stays readable.
    log.raw.length = 0;
    expectProblem(await get("/reports/2031/page/1234567"), 404, "not_found");
    expect(log.events("request")[0]?.path).toBe("/reports/2031/page/1234567");
  });

  it("masks a number written in pieces, whatever separates them (underscores, slashes, encoded characters)", async () => {
    const log = captureConsole();
    const paths = ["/x/91_98765_43210", "/x/+91/98765/43210", "/x/%2B91%2D98765%2D43210", "/x/98765%5F43210"];
    for (const p of paths) expectProblem(await get(p), 404, "not_found");
    for (const path of log.events("request").map((l) => l.path as string)) {
      expect(path.replace(/%[0-9a-f]{2}/gi, "").replace(/\D/g, "")).not.toContain("98765");
    }
  });
});

describe("GET /admin/stats: refused sends are their own figure", () => {
  it("N refused sends, 1 real send and 1 verify: 1 send, conversion 1, N refusals by reason, no failures", async () => {
    const day = "2032-05-14";
    setClock(Date.parse(`${day}T09:00:00Z`));
    // One send per client address an hour, and one SMS for the whole day.
    const settings = envWith({ ADMIN_TOKEN: TOKEN, OTP_MAX_SENDS_PER_IP_PER_HOUR: "1", SMS_DAILY_BUDGET: "1" });
    const send = (phone: string, ip: string) =>
      withEnv(settings, "/send-otp", { json: { phone }, headers: { "cf-connecting-ip": ip } });

    const phone = uniquePhone();
    const sent = await send(phone, "192.0.2.10");
    expect(sent.status).toBe(200);
    // The same client again, for other numbers: refused by its own hourly limit.
    const rateLimited = 5;
    for (let i = 0; i < rateLimited; i++) expectProblem(await send(uniquePhone(), "192.0.2.10"), 429, "rate_limited");
    // Other clients: the day's one SMS is spent.
    for (const ip of ["192.0.2.11", "192.0.2.12"]) {
      expectProblem(await send(uniquePhone(), ip), 503, "sms_budget_exhausted");
    }
    const verified = await withEnv(settings, "/verify-otp", {
      json: { phone, otp: fast2sms.lastCode(), verification_id: sent.body.verification_id },
    });
    expect(verified.status).toBe(200);

    const stats = await withEnv(settings, `/admin/stats?day=${day}`, { headers: auth });
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({
      sends: 1,
      sms_sent: 1,
      sms_failed: 0,
      numbers_sent: 1,
      numbers_verified: 1,
      conversion_rate: 1,
      budget: { limit: 1, used: 1 },
      failures: {},
      refused: { total: rateLimited + 2, by_reason: { rate_limited: rateLimited, sms_budget_exhausted: 2 } },
    });
  });

  it("gives the conversion rate to 4 decimals", async () => {
    const day = "2032-05-15";
    setClock(Date.parse(`${day}T09:00:00Z`));
    const settings = envWith({ ADMIN_TOKEN: TOKEN });
    const phones = [uniquePhone(), uniquePhone(), uniquePhone()];
    const sent: ApiResponse[] = [];
    for (const phone of phones) sent.push(await withEnv(settings, "/send-otp", { json: { phone } }));
    const verified = await withEnv(settings, "/verify-otp", {
      json: { phone: phones[2], otp: fast2sms.lastCode(), verification_id: sent[2]!.body.verification_id },
    });
    expect(verified.status).toBe(200);

    const stats = await withEnv(settings, `/admin/stats?day=${day}`, { headers: auth });
    expect(stats.body).toMatchObject({ numbers_sent: 3, numbers_verified: 1, conversion_rate: 0.3333 });
  });
});

describe("admin guessing", () => {
  it(`counts failures per IPv6 /48 too: ${ADMIN_FAILURES_PER_HOUR} wrong tokens over as many /64s (and /56s) of one /48, then 429`, async () => {
    const settings = envWith({ ADMIN_TOKEN: TOKEN });
    const stats = (ip: string, authorization: string) =>
      withEnv(settings, "/admin/stats", { headers: { "cf-connecting-ip": ip, authorization } });
    // 2001:db8:4a7:100::1, 2001:db8:4a7:200::1, …: another /64 and another /56 each time, one /48.
    const inThe48 = (i: number) => `2001:db8:4a7:${(i * 0x100).toString(16)}::1`;
    for (let i = 1; i <= ADMIN_FAILURES_PER_HOUR; i++) {
      expectProblem(await stats(inThe48(i), "Bearer wrong"), 401, "admin_unauthorized");
    }
    const refused = await stats(inThe48(ADMIN_FAILURES_PER_HOUR + 1), "Bearer wrong");
    expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3500);
    // The right token still passes from that /48; another /48 is not affected.
    expect((await stats(inThe48(ADMIN_FAILURES_PER_HOUR + 2), auth.authorization)).status).toBe(200);
    expectProblem(await stats("2001:db8:4a8:100::1", "Bearer wrong"), 401, "admin_unauthorized");
  });

  describe("ADMIN_TOKEN with too little randomness is a settings error", () => {
    const base = { SMS_PROVIDER: "console", JWT_SECRET: "j".repeat(32), OTP_HASH_SECRET: "h".repeat(32) };
    const refusal = (token: string): MisconfiguredError => {
      try {
        loadSettings({ ...base, ADMIN_TOKEN: token });
      } catch (err) {
        expect(err).toBeInstanceOf(MisconfiguredError);
        return err as MisconfiguredError;
      }
      throw new Error("the token was accepted");
    };

    it.each([
      ["one character", "a".repeat(44)],
      ["a short pattern repeated", "abc".repeat(15)],
      ["digits in order", "0123456789".repeat(4)],
      ["a word repeated", "password".repeat(5)],
      ["runs of letters", "aaaaaaaabbbbbbbbccccccccdddddddd"],
      ["two characters", "abbaabababbbaabaabbbabaabbabaaab"],
      ["a word and a counter", "adminadminadmin-token-0123456789"],
    ])("refuses %s, naming ADMIN_TOKEN and how to make one, never the value", (_, token) => {
      const err = refusal(token);
      expect(err.settings).toEqual(["ADMIN_TOKEN"]);
      expect(String(err.cause)).toContain("ADMIN_TOKEN looks guessable");
      expect(String(err.cause)).toContain("openssl rand -base64 32");
      expect(`${err.message} ${String(err.cause)}`).not.toContain(token);
    });

    it("a too-short token says how to make one too", () => {
      expect(String(refusal("short").cause)).toMatch(/ADMIN_TOKEN must be at least 32 bytes.*openssl rand -base64 32/);
    });

    it("accepts random tokens: base64 and hex of 32 random bytes, every time", () => {
      const bytes = () => crypto.getRandomValues(new Uint8Array(32));
      for (let i = 0; i < 200; i++) {
        const b = bytes();
        for (const token of [
          btoa(String.fromCharCode(...b)),
          Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(""),
        ]) {
          expect(loadSettings({ ...base, ADMIN_TOKEN: token }).admin).toEqual({ token });
        }
      }
      expect(loadSettings({ ...base, ADMIN_TOKEN: TOKEN }).admin).toEqual({ token: TOKEN });
    });

    it("/admin answers 500 misconfigured, naming ADMIN_TOKEN", async () => {
      const weak = "passwordpasswordpasswordpassword";
      const res = await withEnv(envWith({ ADMIN_TOKEN: weak }), "/admin/stats", {
        headers: { authorization: `Bearer ${weak}` },
      });
      expectProblem(res, 500, "misconfigured");
      expect(res.body.detail).toContain("ADMIN_TOKEN");
    });
  });
});
