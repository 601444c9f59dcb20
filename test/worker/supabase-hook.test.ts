import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { verifyWebhook, webhookSecretBytes } from "../../src/kernel/crypto/standard-webhooks";
import { envWith, uniquePhone, withEnv } from "../helpers/api";
import { postFast2smsReport } from "../helpers/fast2sms-report";
import { captureConsole } from "../helpers/log-capture";
import { advance, setUpGatewaysTest } from "../helpers/setup";

const { fast2sms, msg91 } = setUpGatewaysTest();

/** The secret as Supabase shows it (Authentication → Hooks → Send SMS): v1,whsec_<base64>. */
const KEY = btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => (i * 53 + 7) % 256)));
const SECRET = `v1,whsec_${KEY}`;
const OTHER = `whsec_${btoa("another secret of thirty-two bytes!")}`;
const hookEnv = envWith({ SUPABASE_SMS_HOOK_SECRET: SECRET });
const PATH = "/hooks/supabase/send-sms";

/** A call as Supabase Auth makes it: the Standard Webhooks headers over the JSON body. */
function supabaseCall(body: unknown, { secret = `whsec_${KEY}`, at = new Date() } = {}) {
  const raw = JSON.stringify(body);
  const id = `msg_${crypto.randomUUID()}`;
  const signature = new Webhook(secret).sign(id, at, raw);
  return {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signature,
    },
    body: raw,
  };
}

const payload = (phone: string, otp: string) => ({
  user: { id: crypto.randomUUID(), aud: "authenticated", role: "authenticated", phone, app_metadata: {} },
  sms: { otp },
});

describe("Supabase's Send SMS hook", () => {
  it("a signed call sends Supabase's code through the gateway and answers {}; the code is never logged or stored", async () => {
    const logs = captureConsole();
    const phone = uniquePhone();
    const res = await withEnv(hookEnv, PATH, supabaseCall(payload(phone.slice(1), "482913")));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(fast2sms.lastCode()).toBe("482913");
    expect(fast2sms.requests.at(-1)!.body.numbers).toBe(phone.slice(3));
    for (const line of logs.raw) expect(line).not.toContain("482913");
    // Not one of this service's codes: KV holds nothing for the number.
    const stored = await env.OTP_KV.list({ prefix: `otp:${phone}` });
    expect(stored.keys).toEqual([]);
  });

  it("accepts the number with its +", async () => {
    const phone = uniquePhone();
    const res = await withEnv(hookEnv, PATH, supabaseCall(payload(phone, "1234567")));
    expect(res.status).toBe(200);
    expect(fast2sms.lastCode()).toBe("1234567");
  });

  it("a bad signature is 401 and nothing is sent", async () => {
    const logs = captureConsole();
    const call = supabaseCall(payload(uniquePhone(), "111222"), { secret: OTHER });
    const res = await withEnv(hookEnv, PATH, call);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { http_code: 401, message: expect.stringContaining("webhook-signature") } });
    expect(fast2sms.requests).toHaveLength(0);
    expect(logs.events("supabase.hook_refused")).toEqual([expect.objectContaining({ check: "bad_signature" })]);

    const unsigned = await withEnv(hookEnv, PATH, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload(uniquePhone(), "111222")),
    });
    expect(unsigned.status).toBe(401);
    // A body changed after signing.
    const tampered = supabaseCall(payload(uniquePhone(), "111222"));
    const res2 = await withEnv(hookEnv, PATH, { ...tampered, body: tampered.body.replace("111222", "999999") });
    expect(res2.status).toBe(401);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("a header of thousands of signatures costs one HMAC per secret, not one per signature; any listed one may sign", async () => {
    const secrets = [webhookSecretBytes(`whsec_${KEY}`)!, webhookSecretBytes(OTHER)!];
    // A forged call as large as the hook reads: 60 KB of body and a header of 5,000 made-up signatures.
    const raw = JSON.stringify(payload(`${uniquePhone()}`, "123456")).replace("{}", `{"pad":"${"x".repeat(60_000)}"}`);
    const now = Date.now();
    const at = new Date(now);
    const junk = Array.from({ length: 5000 }, (_, i) => `v1,${btoa(String(i).padStart(32, "0"))}`).join(" ");
    const sign = vi.spyOn(crypto.subtle, "sign");
    const verify = vi.spyOn(crypto.subtle, "verify");
    const headers = (signature: string) => ({ id: "msg_1", timestamp: String(Math.floor(now / 1000)), signature });
    expect(await verifyWebhook(secrets, headers(junk), raw, now)).toBe("bad_signature");
    expect(sign.mock.calls.length + verify.mock.calls.length).toBe(secrets.length);
    // The right signature after the junk, and a signature by the second (rotated) secret, are still found.
    const good = new Webhook(`whsec_${KEY}`).sign("msg_1", at, raw);
    expect(await verifyWebhook(secrets, headers(`${junk} ${good}`), raw, now)).toBe("ok");
    expect(await verifyWebhook(secrets, headers(new Webhook(OTHER).sign("msg_1", at, raw)), raw, now)).toBe("ok");
    // A v1 entry that is not 32 bytes is no signature; a valid one cut short signs nothing.
    expect(await verifyWebhook(secrets, headers(good.slice(0, -8)), raw, now)).toBe("bad_signature");
    expect(await verifyWebhook(secrets, headers("v1,"), raw, now)).toBe("bad_signature");
    sign.mockRestore();
    verify.mockRestore();
  });

  it("a timestamp more than 5 minutes ahead is refused too", async () => {
    const call = supabaseCall(payload(uniquePhone(), "333444"), { at: new Date(Date.now() + 6 * 60_000) });
    const res = await withEnv(hookEnv, PATH, call);
    expect(res.status).toBe(401);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("a timestamp more than 5 minutes old is 401 and nothing is sent", async () => {
    const call = supabaseCall(payload(uniquePhone(), "333444"), { at: new Date(Date.now() - 6 * 60_000) });
    const res = await withEnv(hookEnv, PATH, call);
    expect(res.status).toBe(401);
    expect((res.body as { error: { message: string } }).error.message).toMatch(/5 minutes/);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("a number over its limit is refused in Supabase's shape, with Retry-After", async () => {
    const phone = uniquePhone();
    expect((await withEnv(hookEnv, PATH, supabaseCall(payload(phone, "555666")))).status).toBe(200);
    const again = await withEnv(hookEnv, PATH, supabaseCall(payload(phone, "777888")));
    expect(again.status).toBe(429);
    expect(again.body).toEqual({ error: { http_code: 429, message: expect.stringMatching(/^Wait /) } });
    expect(again.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(fast2sms.requests).toHaveLength(1);
  });

  it("a captured call replayed for its 5 minutes meets the number's cooldown and hourly limit: 3 SMS at most", async () => {
    const call = supabaseCall(payload(uniquePhone(), "135790"));
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await withEnv(hookEnv, PATH, call)).status);
      advance(29_000);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([401]); // the last, 5 minutes and more after signing
    expect(fast2sms.requests).toHaveLength(3);
  });

  it("Supabase's sends count against its own hourly allowance (SUPABASE_SMS_HOOK_MAX_SENDS_PER_HOUR)", async () => {
    const small = envWith({
      SUPABASE_SMS_HOOK_SECRET: SECRET,
      SUPABASE_SMS_HOOK_MAX_SENDS_PER_HOUR: "1",
      OTP_MAX_SENDS_PER_IP_PER_HOUR: "10",
    });
    // One key for Supabase (earlier tests of this file already sent through it): past one send an hour, refused.
    await withEnv(small, PATH, supabaseCall(payload(uniquePhone(), "121212")));
    const sent = fast2sms.requests.length;
    const second = await withEnv(small, PATH, supabaseCall(payload(uniquePhone(), "343434")));
    expect(second.status).toBe(429);
    expect(fast2sms.requests).toHaveLength(sent);
  });

  it("a body without user.phone or a code is 400; an invalid number 400 invalid_phone's detail", async () => {
    const bad = await withEnv(hookEnv, PATH, supabaseCall({ user: {}, sms: { otp: "12" } }));
    expect(bad.status).toBe(400);
    const number = await withEnv(hookEnv, PATH, supabaseCall(payload("12345", "123456")));
    expect(number.status).toBe(400);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("does not exist without SUPABASE_SMS_HOOK_SECRET", async () => {
    const res = await withEnv(env, PATH, supabaseCall(payload(uniquePhone(), "123456")));
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { http_code: 404, message: expect.any(String) } });
  });
});

describe("Supabase's sends and the fraud guard", () => {
  it("neither count toward nor are refused by a range's block: Supabase verifies them, out of sight", async () => {
    const guarded = envWith({ SUPABASE_SMS_HOOK_SECRET: SECRET, FRAUD_RANGE_MAX_UNVERIFIED: "5" });
    const digits = Array.from(crypto.getRandomValues(new Uint8Array(5)), (b) => String(b % 10)).join("");
    const range = `+9197${digits}`;
    const before = fast2sms.requests.length;
    for (let i = 0; i < 8; i++) {
      const res = await withEnv(
        guarded,
        PATH,
        supabaseCall(payload(`${range}${String(i).padStart(3, "0")}`, "246810")),
      );
      expect(res.status).toBe(200);
    }
    expect(fast2sms.requests.length - before).toBe(8);
    const counted = await runInDurableObject(env.RANGE_GUARD.getByName(`range:${range}`), (_, state) => {
      state.storage.sql.exec("CREATE TABLE IF NOT EXISTS sends (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
      return state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sends").one().n;
    });
    expect(counted).toBe(0);
    // The app's own sends to the range still go out: nothing of Supabase's started a block.
    const own = await withEnv(guarded, "/send-otp", { json: { phone: `${range}999` } } as RequestInit & {
      json: unknown;
    });
    expect(own.status).toBe(200);
  });
});

describe("Supabase's code is not one of this service's", () => {
  it("/verify-otp does not accept it, even for the number's newest code", async () => {
    const loose = envWith({ SUPABASE_SMS_HOOK_SECRET: SECRET, OTP_REQUIRE_VERIFICATION_ID: "false" });
    const phone = uniquePhone();
    expect((await withEnv(loose, PATH, supabaseCall(payload(phone, "246810")))).status).toBe(200);
    const res = await withEnv(loose, "/verify-otp", { json: { phone, otp: "246810" } });
    expect(res.status).not.toBe(200);
    expect(res.body.access_token).toBeUndefined();
  });
});

describe("Supabase's code takes the service's routes", () => {
  it("a failed report sends the same Supabase code on the next gateway (the fallback)", async () => {
    const dlr = "dlr-secret-Qm7vK2pX9sT4wZ8yB3nC6hJ1";
    const followed = envWith({
      SUPABASE_SMS_HOOK_SECRET: SECRET,
      DELIVERY_WEBHOOK_SECRET: dlr,
      SMS_PROVIDERS: "fast2sms,msg91",
    });
    const phone = uniquePhone();
    const logs = captureConsole();
    expect((await withEnv(followed, PATH, supabaseCall(payload(phone, "908172")))).status).toBe(200);
    expect(fast2sms.lastCode()).toBe("908172");
    const report = await postFast2smsReport(followed, dlr, {
      messageId: fast2sms.lastMessageId(),
      phone,
      status: "failed",
    });
    expect(report.status).toBe(200);
    expect(await runDurableObjectAlarm(env.PHONE_LIMITER.getByName(phone))).toBe(true);
    expect(msg91.lastCode()).toBe("908172");
    // Its fallback is not counted against the range either: Supabase's verify of it is out of sight.
    const counted = await runInDurableObject(env.RANGE_GUARD.getByName(`range:${phone.slice(0, -3)}`), (_, state) => {
      const sql = state.storage.sql;
      let n = 0;
      for (const table of ["sends", "held"]) {
        sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL)`);
        n += sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
      }
      return n;
    });
    expect(counted).toBe(0);
    for (const line of logs.raw) expect(line).not.toContain("908172");
  });
});
