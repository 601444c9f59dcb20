import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { numberHash } from "../../src/domain/stats/otp-events";
import { ADMIN_FAILURES_PER_HOUR, sameToken } from "../../src/http/middleware/admin-auth";
import { type ApiResponse, envWith, get, post, uniquePhone, withEnv } from "../helpers/api";
import { refused } from "../helpers/fake-fast2sms";
import { captureConsole } from "../helpers/log-capture";
import { expectProblem } from "../helpers/problem";
import { advance, setClock, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

const TOKEN = "xxIT_SXoxRcrvsZPbU6_8zJoiPCmkzjympyjGpmaNUc";
/** One environment object for every call, so they share settings (and the app's waitUntil work is awaited). */
const admin = envWith({ ADMIN_TOKEN: TOKEN });
const auth = { authorization: `Bearer ${TOKEN}` };

const call = (path: string, init: RequestInit & { json?: unknown } = {}) => withEnv(admin, path, init);
const asAdmin = (path: string, method = "GET", headers: Record<string, string> = auth) =>
  call(path, { method, headers });
const send = (phone: string) => call("/send-otp", { json: { phone } });
const verify = (phone: string, otp: string, sent: ApiResponse) =>
  call("/verify-otp", { json: { phone, otp, verification_id: sent.body.verification_id } });
const wrong = (code: string) => code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));
const path = (phone: string) => `/admin/numbers/${encodeURIComponent(phone)}`;

describe("without ADMIN_TOKEN", () => {
  it("/admin and everything under it does not exist", async () => {
    for (const p of ["/admin", "/admin/stats", path(uniquePhone())]) {
      const res = await get(p, { headers: auth });
      expectProblem(res, 404, "not_found");
    }
    expectProblem(await post(`${path(uniquePhone())}/unlock`, "", { headers: auth }), 404, "not_found");
  });

  it("a token shorter than 32 bytes is a misconfiguration, not a weak lock", async () => {
    const res = await withEnv(envWith({ ADMIN_TOKEN: "short" }), "/admin/stats", {
      headers: { authorization: "Bearer short" },
    });
    expectProblem(res, 500, "misconfigured");
    expect(res.body.detail).toContain("ADMIN_TOKEN");
  });
});

describe("admin authentication", () => {
  it("answers 401 with a Bearer challenge without the token, with another token, or another scheme", async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: `Bearer ${TOKEN.slice(0, -1)}x` },
      { authorization: "Bearer x" },
      { authorization: `Basic ${btoa(`admin:${TOKEN}`)}` },
      { authorization: `Bearer ${TOKEN}${TOKEN}` },
    ]) {
      const res = await asAdmin("/admin/stats", "GET", { ...headers, "cf-connecting-ip": "203.0.113.50" });
      expectProblem(res, 401, "admin_unauthorized");
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
    }
    expect((await asAdmin("/admin/stats")).status).toBe(200);
  });

  it("compares fixed-length keyed digests with timingSafeEqual, whatever the length of the guess", async () => {
    const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
    expect(await sameToken(TOKEN, TOKEN)).toBe(true);
    expect(await sameToken("x", TOKEN)).toBe(false);
    expect(await sameToken(`${TOKEN.slice(0, -1)}y`, TOKEN)).toBe(false);
    expect(spy).toHaveBeenCalledTimes(3);
    for (const [a, b] of spy.mock.calls) {
      expect([(a as ArrayBuffer).byteLength, (b as ArrayBuffer).byteLength]).toEqual([32, 32]);
    }
  });

  it(`limits failed calls per client address: after ${ADMIN_FAILURES_PER_HOUR} an hour, 429 for wrong tokens; the right one still passes`, async () => {
    const ip = { "cf-connecting-ip": "198.51.100.77" };
    for (let i = 0; i < ADMIN_FAILURES_PER_HOUR; i++) {
      expect((await asAdmin("/admin/stats", "GET", { ...ip, authorization: "Bearer wrong" })).status).toBe(401);
    }
    const refusedCall = await asAdmin("/admin/stats", "GET", { ...ip, authorization: "Bearer wrong" });
    expectProblem(refusedCall, 429, "rate_limited");
    // Someone sharing the operator's address cannot lock the operator out by failing on purpose.
    expect((await asAdmin("/admin/stats", "GET", { ...ip, ...auth })).status).toBe(200);
    // Another client is not affected, and right calls never count.
    for (let i = 0; i < ADMIN_FAILURES_PER_HOUR + 2; i++) {
      expect((await asAdmin("/admin/stats", "GET", { "cf-connecting-ip": "198.51.100.78", ...auth })).status).toBe(200);
    }
    advance(61 * 60_000);
    expect((await asAdmin("/admin/stats", "GET", { ...ip, ...auth })).status).toBe(200);
  });
});

describe("GET /admin/numbers/{phone}", () => {
  it("shows sends, wrong guesses, the live code, sessions and the last SMS: exact, and nothing secret", async () => {
    const phone = uniquePhone();
    const log = captureConsole();
    const sent = await send(phone);
    const code = fast2sms.lastCode();
    expect((await verify(phone, wrong(code), sent)).status).toBe(400);
    expect((await verify(phone, wrong(code), sent)).status).toBe(400);

    // Any accepted form of the number.
    const national = phone.slice(3);
    const view = await asAdmin(path(`0${national}`));
    expect(view.status).toBe(200);
    expect(view.headers.get("cache-control")).toBe("no-store");
    expect(view.body).toEqual({
      phone,
      sends_last_hour: 1,
      failures_last_day: 2,
      locked_until: null,
      number_locked: false,
      clients_locked: 0,
      live_code: { expires_at: expect.any(String), attempts_left: 3 },
      sessions: 0,
      last_sms: { gateway: "fast2sms", channel: "sms", at: expect.any(String), outcome: "sent" },
      deliveries: [
        {
          channel: "sms",
          gateway: "fast2sms",
          status: "pending",
          sent_at: expect.any(String),
          delivered_at: null,
          failed_at: null,
          reason: null,
          dlt: null,
        },
      ],
    });
    const expires = Date.parse((view.body.live_code as { expires_at: string }).expires_at);
    expect(expires - Date.now()).toBeGreaterThan(290_000);

    expect((await verify(phone, code, sent)).status).toBe(200);
    const after = await asAdmin(path(phone));
    expect(after.body).toMatchObject({ sends_last_hour: 1, failures_last_day: 2, live_code: null, sessions: 1 });

    const text = JSON.stringify([view.body, after.body]);
    for (const secret of [code, wrong(code), String(sent.body.verification_id), TOKEN])
      expect(text).not.toContain(secret);
    expect(text).not.toMatch(/hash|token|[0-9a-f]{32}/i);

    // Logged as admin.lookup with the number masked; the token is in no line.
    const lines = log.events("admin.lookup");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ phone: `+91******${phone.slice(-4)}` });
    expect(log.raw.join("\n")).not.toContain(TOKEN);
    expect(log.raw.join("\n")).not.toContain(phone);
  });

  it("says when the last SMS failed, and which gateway", async () => {
    const phone = uniquePhone();
    fast2sms.respond(refused(401, 412, "Invalid Authentication, Check Authorization Key"));
    expect((await send(phone)).status).toBe(502);
    const view = await asAdmin(path(phone));
    expect(view.body).toMatchObject({
      sends_last_hour: 0,
      live_code: null,
      last_sms: { gateway: "fast2sms", channel: "sms", outcome: "failed" },
    });
  });

  it("refuses a number that is not a valid mobile number", async () => {
    expectProblem(await asAdmin(path("12345")), 400, "invalid_phone");
  });
});

describe("POST /admin/numbers/{phone}/unlock", () => {
  it("lets a locked number get a code at once", async () => {
    const strict = envWith({ ADMIN_TOKEN: TOKEN, OTP_MAX_FAILURES_PER_DAY: "2" });
    const phone = uniquePhone();
    const sent = await withEnv(strict, "/send-otp", { json: { phone } });
    const code = fast2sms.lastCode();
    for (let i = 0; i < 2; i++) {
      await withEnv(strict, "/verify-otp", {
        json: { phone, otp: wrong(code), verification_id: sent.body.verification_id },
      });
    }
    advance(31_000);
    expectProblem(await withEnv(strict, "/send-otp", { json: { phone } }), 429, "too_many_attempts");
    const locked = await withEnv(strict, path(phone), { headers: auth });
    expect(locked.body).toMatchObject({ failures_last_day: 2, number_locked: false, clients_locked: 1 });
    expect(Date.parse(locked.body.locked_until as string)).toBeGreaterThan(Date.now() + 23 * 3600_000);

    const log = captureConsole();
    const unlocked = await withEnv(strict, `${path(phone)}/unlock`, { method: "POST", headers: auth });
    expect(unlocked.status).toBe(204);
    expect(log.events("admin.unlock")).toEqual([expect.objectContaining({ phone: `+91******${phone.slice(-4)}` })]);

    // At once: no lock, no cooldown.
    expect((await withEnv(strict, "/send-otp", { json: { phone } })).status).toBe(200);
    const view = await withEnv(strict, path(phone), { headers: auth });
    expect(view.body).toMatchObject({
      failures_last_day: 0,
      locked_until: null,
      clients_locked: 0,
      sends_last_hour: 1,
    });
  });
});

describe("DELETE /admin/numbers/{phone}/sessions", () => {
  it("ends every session of the number", async () => {
    const phone = uniquePhone();
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) {
      const sent = await send(phone);
      const ok = await verify(phone, fast2sms.lastCode(), sent);
      tokens.push(ok.body.refresh_token as string);
      advance(31_000);
    }
    expect((await asAdmin(path(phone))).body.sessions).toBe(2);
    const log = captureConsole();
    expect((await asAdmin(`${path(phone)}/sessions`, "DELETE")).status).toBe(204);
    expect(log.events("admin.revoke_sessions")).toEqual([expect.objectContaining({ ended: 2 })]);
    expect((await asAdmin(path(phone))).body.sessions).toBe(0);
    for (const refreshToken of tokens) {
      expectProblem(
        await call("/token/refresh", { json: { refresh_token: refreshToken } }),
        401,
        "invalid_refresh_token",
      );
    }
  });
});

describe("GET /admin/stats", () => {
  it("counts a scripted day exactly: sends, SMS, failures, verifications, conversion, budget, gateways, countries", async () => {
    const day = "2031-03-10";
    setClock(Date.parse(`${day}T08:00:00Z`));
    const [a, b, c] = [uniquePhone(), uniquePhone(), uniquePhone()];

    // A: sent, verified.
    const sentA = await send(a);
    expect((await verify(a, fast2sms.lastCode(), sentA)).status).toBe(200);
    // B: sent twice, one wrong guess, never verified.
    const sentB = await send(b);
    expect((await verify(b, wrong(fast2sms.lastCode()), sentB)).status).toBe(400);
    advance(31_000);
    expect((await send(b)).status).toBe(200);
    // B again too soon: refused by the cooldown.
    expectProblem(await send(b), 429, "rate_limited");
    // C: the gateway refuses; nothing went out.
    fast2sms.respond(refused(401, 412, "Invalid Authentication, Check Authorization Key"));
    expect((await send(c)).status).toBe(502);

    // The next day's traffic is not this day's.
    setClock(Date.parse("2031-03-11T00:00:05Z"));
    fast2sms.install();
    expect((await send(uniquePhone())).status).toBe(200);

    const log = captureConsole();
    const stats = await asAdmin(`/admin/stats?day=${day}`);
    expect(stats.status).toBe(200);
    expect(stats.body).toEqual({
      day,
      sends: 3,
      sms_sent: 3,
      sms_failed: 1,
      voice_calls: 0,
      verifications_succeeded: 1,
      verifications_failed: 1,
      numbers_sent: 2,
      numbers_verified: 1,
      conversion_rate: 0.5,
      budget: { limit: 100000, used: 3 },
      by_gateway: { fast2sms: { sent: 3, failed: 1 } },
      by_country: { IN: 3 },
      failures: { wrong_code: 1, sms_refused: 1 },
      refused: { total: 1, by_reason: { rate_limited: 1 } },
      fraud: { ranges_blocked: 0, blocks_lifted: 0 },
      // No delivery reports are followed here (no DELIVERY_WEBHOOK_SECRET): every message stays unreported.
      delivery: {
        by_gateway: {
          fast2sms: {
            sms: {
              sent: 3,
              delivered: 0,
              failed: 0,
              unreported: 3,
              fallbacks: 0,
              p50_seconds: null,
              p95_seconds: null,
            },
          },
        },
        failures_by_reason: {},
      },
    });
    expect(log.events("admin.stats")).toEqual([expect.objectContaining({ day })]);

    // Today (the default) is the next day.
    const today = await asAdmin("/admin/stats");
    expect(today.body).toMatchObject({ day: "2031-03-11", sends: 1, numbers_sent: 1, conversion_rate: 0 });

    // A number's events live in one shard: its alarm, 36 days on, deletes the day there.
    const { shard } = await numberHash((env as unknown as { OTP_HASH_SECRET: string }).OTP_HASH_SECRET, a);
    const stub = env.STATS_COUNTER.getByName(`stats:${day}:${shard}`);
    setClock(Date.parse(`${day}T00:00:00Z`) + 36 * 86_400_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const pruned = await asAdmin(`/admin/stats?day=${day}`);
    expect(pruned.body.numbers_verified).toBe(0);
  });

  it("refuses a day that is not YYYY-MM-DD", async () => {
    for (const day of ["2031-3-1", "2031-02-30", "today"]) {
      expectProblem(await asAdmin(`/admin/stats?day=${day}`), 400, "invalid_request");
    }
  });
});

describe("GET /admin", () => {
  it("is a page with a strict CSP that allows only its own inline script and style", async () => {
    const res = await call("/admin");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[^']+'(;|$)/);
    expect(csp).toContain("connect-src 'self'");
    const html = String(res.body.raw);
    expect(html).toContain('id="admin-token"');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org)/);
    expect(html).not.toContain(TOKEN);
  });
});

describe("GET /admin's policy and its minified script", () => {
  /** The text of each inline element of a tag; an attribute on it (src=, type=) fails the test. */
  const inline = (html: string, tag: string) =>
    [...html.matchAll(new RegExp(`<${tag}\\b([^>]*)>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => {
      expect(m[1]).toBe("");
      return m[2]!;
    });
  /** What a browser checks: 'sha256-' + base64(SHA-256(UTF-8 text)). */
  const hashSource = async (text: string) => {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
    return `'sha256-${btoa(String.fromCharCode(...digest))}'`;
  };

  it("allows exactly the inline script and style the page contains, by their SHA-256, and nothing inline else", async () => {
    const res = await call("/admin");
    const html = String(res.body.raw);
    const csp = new Map(
      (res.headers.get("content-security-policy") ?? "").split(/;\s*/).map((d) => {
        const [name, ...sources] = d.split(/\s+/);
        return [name!, sources] as const;
      }),
    );
    const scripts = inline(html, "script");
    const styles = inline(html, "style");
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(csp.get("script-src")).toEqual(await Promise.all(scripts.map(hashSource)));
    expect(csp.get("style-src")).toEqual(await Promise.all(styles.map(hashSource)));
    expect(res.headers.get("content-security-policy")).not.toMatch(/unsafe/);
    expect(csp.get("require-trusted-types-for")).toEqual(["'script'"]);
    // The shipped (minified) script writes text only, never HTML from strings.
    expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });
});

describe("the request log never holds a number that is part of an admin path", () => {
  it("logs the route's pattern, not the number", async () => {
    const phone = uniquePhone();
    const log = captureConsole();
    expect((await asAdmin(`/admin/numbers/${encodeURIComponent(phone)}`, "GET", auth)).status).toBe(200);
    expect((await asAdmin(`/admin/numbers/${phone.slice(3)}/unlock`, "POST", auth)).status).toBe(204);
    const lines = log.raw.join("\n");
    expect(lines).not.toContain(phone.slice(3));
    expect(lines).toContain('"path":"/admin/numbers/:phone"');
  });
});
