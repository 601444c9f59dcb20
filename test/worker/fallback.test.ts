import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { settleMsOf } from "../../src/domain/guards/range-guard";
import { loadSettings } from "../../src/kernel/config/settings";
import type { CodeRecord } from "../../src/platform/limiter/phone-limiter";
import { DELIVERY_HEALTH, recordDeliveryOutcome, resetDeliveryHealth } from "../../src/platform/sms/delivery-health";
import { ISOLATE_BREAKERS } from "../../src/platform/sms/gateway-breakers";
import { envWith, uniquePhone, withEnv } from "../helpers/api";
import { msg91Error } from "../helpers/fake-msg91";
import { FakeWhatsApp, sent, WHATSAPP_FAKE_URL } from "../helpers/fake-whatsapp";
import { captureConsole } from "../helpers/log-capture";
import { advance, setClock, setUpGatewaysTest } from "../helpers/setup";

const { fast2sms, msg91, twofactor } = setUpGatewaysTest();
const whatsapp = new FakeWhatsApp();
beforeEach(() => whatsapp.install());

const SECRET = "dlr-secret-Qm7vK2pX9sT4wZ8yB3nC6hJ1";
const FOLLOWED = { DELIVERY_WEBHOOK_SECRET: SECRET, SMS_PROVIDERS: "fast2sms,msg91" };
const main = envWith(FOLLOWED);
const three = envWith({ ...FOLLOWED, SMS_PROVIDERS: "fast2sms,msg91,twofactor" });
const capped = envWith({ ...FOLLOWED, SMS_PROVIDERS: "fast2sms,msg91,twofactor", DELIVERY_MAX_MESSAGES: "2" });
const unfollowed = envWith({ SMS_PROVIDERS: "fast2sms,msg91" });
const poor = envWith({ ...FOLLOWED, SMS_DAILY_BUDGET: "1" });
const WHATSAPP = {
  WHATSAPP_ACCESS_TOKEN: "EAAtest-whatsapp-access-token-Zx81Qw7",
  WHATSAPP_PHONE_NUMBER_ID: "106540352242922",
  WHATSAPP_TEMPLATE_NAME: "otp_login",
  WHATSAPP_BASE_URL: WHATSAPP_FAKE_URL,
  WHATSAPP_TIMEOUT_MS: "1000",
};
/** WhatsApp whose webhook can be checked, so its messages are followed. */
const withWhatsApp = envWith({ ...WHATSAPP, WHATSAPP_APP_SECRET: "whatsapp-app-secret-3b9f0c1d2e" });
/** WhatsApp without its app secret: no report can arrive, so nothing is followed. */
const whatsAppUnchecked = envWith(WHATSAPP);

const TIMEOUT_MS = 30_000;

async function send(phone: string, environment: Env = main, channel?: string): Promise<string> {
  const res = await withEnv(environment, "/send-otp", { json: { phone, ...(channel ? { channel } : {}) } });
  expect(res.status).toBe(200);
  return String(res.body.verification_id);
}

const verify = (phone: string, otp: string, id: string, environment: Env = main) =>
  withEnv(environment, "/verify-otp", { json: { phone, otp, verification_id: id } });

const status = (phone: string, id: string, environment: Env = main) =>
  withEnv(environment, "/verification-status", { json: { phone, verification_id: id } });

/** A Fast2SMS report for its message, through the webhook. */
const fast2smsReport = (phone: string, messageId: string, outcome: "delivered" | "failed", environment = main) =>
  withEnv(environment, `/webhooks/fast2sms/${SECRET}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ request_id: messageId, mobile: phone.slice(3), status: outcome, failure_reason: "" }),
  });

const msg91Report = (phone: string, messageId: string, outcome: "delivered" | "failed") =>
  withEnv(main, `/webhooks/msg91/${SECRET}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      requestId: messageId,
      telNum: phone.slice(1),
      status: outcome === "delivered" ? "Delivered" : "Failed",
    }),
  });

const limiter = (phone: string) => env.PHONE_LIMITER.getByName(phone);

/** Fires the number's alarm now (it runs with no request, as the runtime would run it). */
const runAlarm = (phone: string) => runDurableObjectAlarm(limiter(phone));

const storedCode = (phone: string, id: string) =>
  runInDurableObject(limiter(phone), (_instance, state) => {
    const stored = state.storage.kv.get<{ codes: CodeRecord[] }>("state");
    return stored?.codes.find((c) => c.id === id);
  });

describe("the same code on the next route when a message is not delivered", () => {
  it("a silent gateway: after the timeout msg91 gets the same code, and the person verifies with it", async () => {
    const phone = uniquePhone();
    const id = await send(phone);
    const code = fast2sms.lastCode();
    // Before the timeout the alarm sends nothing.
    advance(TIMEOUT_MS - 5000);
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(0);

    const logs = captureConsole();
    advance(6000);
    expect(await runAlarm(phone)).toBe(true);
    expect(msg91.requests).toHaveLength(1);
    expect(msg91.lastCode()).toBe(code);
    expect(logs.events("otp.fallback_sent")).toEqual([expect.objectContaining({ gateway: "msg91", channel: "sms" })]);
    expect(logs.raw.join("\n")).not.toContain(code);
    expect(logs.raw.join("\n")).not.toContain(phone);

    const after = await status(phone, id);
    expect(after.body).toMatchObject({ status: "pending", messages: [{ status: "pending" }, { status: "pending" }] });
    expect((await verify(phone, code, id)).status).toBe(200);
  });

  it("a failed report sends the fallback at once", async () => {
    const phone = uniquePhone();
    const id = await send(phone);
    const code = fast2sms.lastCode();
    expect((await fast2smsReport(phone, fast2sms.lastMessageId(), "failed")).status).toBe(200);
    // The alarm is due now: no clock moved.
    const due = await runInDurableObject(limiter(phone), (_i, state) => state.storage.getAlarm());
    expect(due).not.toBeNull();
    expect(due!).toBeLessThanOrEqual(Date.now());
    await runAlarm(phone);
    expect(msg91.requests.map((r) => r.query.otp)).toEqual([code]);
    expect((await status(phone, id)).body).toMatchObject({ status: "pending", messages: [{ status: "failed" }, {}] });
  });

  it("a delivered report: no fallback ever, and the sealed code is dropped", async () => {
    const phone = uniquePhone();
    const id = await send(phone);
    expect((await storedCode(phone, id))?.fallback).toBeDefined();
    await fast2smsReport(phone, fast2sms.lastMessageId(), "delivered");
    expect((await storedCode(phone, id))?.fallback).toBeUndefined();
    advance(TIMEOUT_MS * 3);
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(0);
  });

  it("a late delivery of the first message after the fallback is recorded, and nothing more is sent", async () => {
    const phone = uniquePhone();
    const id = await send(phone, three);
    const first = fast2sms.lastMessageId();
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(1);
    // A further fallback is planned (twofactor is left), until the late report.
    expect((await storedCode(phone, id))?.fallback?.route).toEqual([{ gateway: "twofactor", channel: "sms" }]);
    await fast2smsReport(phone, first, "delivered", three);
    expect((await status(phone, id, three)).body).toMatchObject({
      status: "delivered",
      messages: [{ status: "delivered" }, { status: "pending" }],
    });
    advance(TIMEOUT_MS * 3);
    await runAlarm(phone);
    expect(twofactor.requests).toHaveLength(0);
    expect((await storedCode(phone, id))?.fallback).toBeUndefined();
  });

  it("verified before the timeout: nothing is sent", async () => {
    const phone = uniquePhone();
    const id = await send(phone);
    expect((await verify(phone, fast2sms.lastCode(), id)).status).toBe(200);
    expect((await storedCode(phone, id))?.fallback).toBeUndefined();
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(0);
  });

  it("DELIVERY_MAX_MESSAGES=2 with three gateways: at most two accepted messages", async () => {
    const phone = uniquePhone();
    const id = await send(phone, capped);
    for (let i = 0; i < 3; i++) {
      advance(TIMEOUT_MS + 1000);
      await runAlarm(phone);
    }
    expect(msg91.requests).toHaveLength(1);
    expect(twofactor.requests).toHaveLength(0);
    expect(((await status(phone, id, capped)).body.messages as unknown[]).length).toBe(2);
  });

  it("without the cap, three gateways: the code goes on to the third after a second timeout", async () => {
    const phone = uniquePhone();
    await send(phone, three);
    const code = fast2sms.lastCode();
    for (let i = 0; i < 3; i++) {
      advance(TIMEOUT_MS + 1000);
      await runAlarm(phone);
    }
    expect(msg91.lastCode()).toBe(code);
    expect(twofactor.requests.map((r) => r.code)).toEqual([code]);
  });

  it("a gateway of the route that fails: the next one is tried at once", async () => {
    const phone = uniquePhone();
    const id = await send(phone, three);
    const code = fast2sms.lastCode();
    msg91.respond(msg91Error(500, "internal error"));
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(1);
    expect(twofactor.requests.map((r) => r.code)).toEqual([code]);
    expect(((await status(phone, id, three)).body.messages as unknown[]).length).toBe(2);
  });

  it("a budget that refuses the fallback: skipped and recorded on the code, which still verifies", async () => {
    // A day of its own, so its budget of 1 is spent by this test's send alone.
    setClock(Math.ceil(Date.now() / 86_400_000 + 10) * 86_400_000 + 3_600_000);
    const phone = uniquePhone();
    const id = await send(phone, poor);
    const code = fast2sms.lastCode();
    const logs = captureConsole();
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(0);
    expect(logs.events("otp.fallback_skipped")).toEqual([expect.objectContaining({ reason: "budget" })]);
    const stored = await storedCode(phone, id);
    expect(stored?.fallbackSkipped).toBe("budget");
    expect(stored?.fallback).toBeUndefined();
    expect((await verify(phone, code, id, poor)).status).toBe(200);
  });

  it("without DELIVERY_WEBHOOK_SECRET an SMS is not followed: no fallback", async () => {
    const phone = uniquePhone();
    const id = await send(phone, unfollowed);
    expect((await storedCode(phone, id))?.fallback).toBeUndefined();
    advance(TIMEOUT_MS * 3);
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(0);
  });

  it("the stored code is never in clear: the object's state does not contain its digits", async () => {
    const phone = uniquePhone();
    const id = await send(phone);
    const code = fast2sms.lastCode();
    const stored = await runInDurableObject(limiter(phone), (_i, state) =>
      JSON.stringify(state.storage.kv.get("state")),
    );
    expect(stored).toContain(id);
    expect(stored).toContain("sealedCode");
    expect(stored).not.toContain(code);
    // Unsealed only by the alarm, for the fallback message.
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(msg91.lastCode()).toBe(code);
    // The last route step is used: nothing sealed is kept any more.
    expect(
      await runInDurableObject(limiter(phone), (_i, state) => JSON.stringify(state.storage.kv.get("state"))),
    ).not.toContain("sealedCode");
  });

  it("a delivered report of the fallback message ends it", async () => {
    const phone = uniquePhone();
    const id = await send(phone, three);
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    await msg91Report(phone, msg91.lastMessageId(), "delivered");
    advance(TIMEOUT_MS * 3);
    await runAlarm(phone);
    expect(twofactor.requests).toHaveLength(0);
    expect((await status(phone, id, three)).body.status).toBe("delivered");
  });

  it("WhatsApp not delivered within the timeout: an SMS with the same code", async () => {
    const phone = uniquePhone();
    whatsapp.respond(sent(`wamid.TEST${crypto.randomUUID().replaceAll("-", "")}`));
    const id = await send(phone, withWhatsApp, "whatsapp");
    expect(whatsapp.requests).toHaveLength(1);
    const code = JSON.stringify(whatsapp.requests[0]!.body).match(/"text":"(\d{4,8})"/)?.[1];
    expect(code).toBeDefined();
    expect(fast2sms.requests).toHaveLength(0);
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(fast2sms.requests).toHaveLength(1);
    expect(fast2sms.lastCode()).toBe(code);
    expect((await status(phone, id, withWhatsApp)).body).toMatchObject({
      channel: "sms",
      messages: [{ channel: "whatsapp" }, { channel: "sms" }],
    });
    expect((await verify(phone, code!, id, withWhatsApp)).status).toBe(200);
  });

  it("a gateway that refuses the number stops the fallback: the next one would repeat it or get round the gateway's check", async () => {
    const phone = uniquePhone();
    await send(phone, three);
    msg91.respond(msg91Error(400, "Invalid mobile number"));
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(1);
    expect(twofactor.requests).toHaveLength(0);
  });

  it("WhatsApp without WHATSAPP_APP_SECRET is not followed (no report could arrive): no SMS after it", async () => {
    const phone = uniquePhone();
    whatsapp.respond(sent(`wamid.TEST${crypto.randomUUID().replaceAll("-", "")}`));
    await send(phone, whatsAppUnchecked, "whatsapp");
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(fast2sms.requests).toHaveLength(0);
  });
});

describe("a due fallback honours the circuit breakers and the delivery-aware order", () => {
  afterEach(() => resetDeliveryHealth());

  /** Opens a gateway's breaker now, as three failed calls in a row would (it stays open for 30 s). */
  const openBreaker = (gateway: string) => {
    const breaker = ISOLATE_BREAKERS.get(gateway, "sms");
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    expect(breaker.state).toBe("open");
  };

  it("the only gateway left has its breaker open: nothing is sent, nothing spent, it is recorded, and the code still verifies", async () => {
    const phone = uniquePhone();
    const id = await send(phone);
    const code = fast2sms.lastCode();
    advance(TIMEOUT_MS + 1000);
    openBreaker("msg91");
    const logs = captureConsole();
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(0);
    expect(logs.events("otp.fallback_skipped")).toEqual([expect.objectContaining({ reason: "breaker_open" })]);
    const stored = await storedCode(phone, id);
    expect(stored?.fallbackSkipped).toBe("breaker_open");
    expect(stored?.fallback).toBeUndefined();
    expect((await status(phone, id)).body).toMatchObject({ status: "pending", messages: [{ status: "pending" }] });
    expect((await verify(phone, code, id)).status).toBe(200);
  });

  it("decided before the budget: with the day's budget spent, the skip is still breaker_open", async () => {
    setClock(Math.ceil(Date.now() / 86_400_000 + 20) * 86_400_000 + 3_600_000);
    const phone = uniquePhone();
    await send(phone, poor);
    advance(TIMEOUT_MS + 1000);
    openBreaker("msg91");
    const logs = captureConsole();
    await runAlarm(phone);
    expect(logs.events("otp.fallback_skipped")).toEqual([expect.objectContaining({ reason: "breaker_open" })]);
  });

  it("an open breaker with another gateway left: that one gets the code, and the skipped one stays on the plan until it recovers", async () => {
    const phone = uniquePhone();
    const id = await send(phone, three);
    const code = fast2sms.lastCode();
    advance(TIMEOUT_MS + 1000);
    openBreaker("msg91");
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(0);
    expect(twofactor.requests.map((r) => r.code)).toEqual([code]);
    expect((await storedCode(phone, id))?.fallback?.route).toEqual([{ gateway: "msg91", channel: "sms" }]);
    // At the next deadline the cool-off is over: msg91 takes its probe with the same code, and it closes.
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(msg91.requests.map((r) => r.query.otp)).toEqual([code]);
    expect(ISOLATE_BREAKERS.get("msg91", "sms").state).toBe("closed");
    expect(((await status(phone, id, three)).body.messages as unknown[]).length).toBe(3);
  });

  it("the fallbacks' own failures open the breaker, as a send's do: the next fallback skips the gateway", async () => {
    msg91.respond(msg91Error(500, "internal error"));
    const phones = [uniquePhone(), uniquePhone(), uniquePhone(), uniquePhone()];
    for (const phone of phones) await send(phone, three);
    advance(TIMEOUT_MS + 1000);
    const logs = captureConsole();
    for (const phone of phones.slice(0, 3)) await runAlarm(phone);
    expect(msg91.requests).toHaveLength(3);
    expect(logs.events("sms.gateway_failed").map((e) => e.breaker)).toEqual(["closed", "closed", "open"]);
    // Each of the three still reached the person through twofactor.
    expect(twofactor.requests).toHaveLength(3);
    await runAlarm(phones[3]!);
    expect(msg91.requests).toHaveLength(3);
    expect(twofactor.requests).toHaveLength(4);
  });

  it("an accepted fallback closes its gateway's breaker again (a success, as in a send)", async () => {
    const phone = uniquePhone();
    await send(phone);
    advance(TIMEOUT_MS + 1000);
    const breaker = ISOLATE_BREAKERS.get("msg91", "sms");
    breaker.recordFailure();
    breaker.recordFailure();
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(1);
    // Two failures and a success: a third failure alone does not open it.
    breaker.recordFailure();
    expect(breaker.state).toBe("closed");
  });

  it("a gateway whose recent reports are mostly failures goes last: the fallback tries the healthy one first", async () => {
    const phone = uniquePhone();
    const id = await send(phone, three);
    const code = fast2sms.lastCode();
    advance(TIMEOUT_MS + 1000);
    for (let i = 0; i < DELIVERY_HEALTH.minReports; i++) recordDeliveryOutcome("msg91", "sms", "failed");
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(0);
    expect(twofactor.requests.map((r) => r.code)).toEqual([code]);
    // Demoted, not dropped: it is still the route's last step.
    expect((await storedCode(phone, id))?.fallback?.route).toEqual([{ gateway: "msg91", channel: "sms" }]);
  });
});

describe("a due fallback and the fraud guard on number ranges", () => {
  const guarded = envWith({ ...FOLLOWED, FRAUD_RANGE_MAX_UNVERIFIED: "5" });
  /** A fresh range of valid Indian mobile numbers (+9194 and five digits; the last three are dropped). */
  const freshRange = () =>
    `+9194${Array.from(crypto.getRandomValues(new Uint8Array(5)), (b) => String(b % 10)).join("")}`;
  const numberOf = (range: string, i: number) => `${range}${String(i).padStart(3, "0")}`;
  const sendFrom = (phone: string, i: number) =>
    withEnv(guarded, "/send-otp", {
      json: { phone },
      headers: { "cf-connecting-ip": `203.0.113.${i + 1}` },
      cf: { asn: 64_600 + i },
    } as RequestInit & { json: unknown });
  /** The range's counted messages: sent, and still in flight. */
  const counted = (range: string) =>
    runInDurableObject(env.RANGE_GUARD.getByName(`range:${range}`), (_, state) => {
      const sql = state.storage.sql;
      const n = (table: string) => {
        sql.exec(
          `CREATE TABLE IF NOT EXISTS ${table} (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL, e164 TEXT, known_until INTEGER)`,
        );
        return sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
      };
      return n("sends") + n("held");
    });

  it("a blocked range gets no fallback: the 5 unverified codes cost 5 messages, not 10", async () => {
    const range = freshRange();
    for (let i = 0; i < 5; i++) expect((await sendFrom(numberOf(range, i), i)).status).toBe(200);
    // Once the five have settled (their messages went out), the next send blocks the range.
    advance(settleMsOf(loadSettings(guarded)));
    expect((await sendFrom(numberOf(range, 5), 5)).body.code).toBe("fraud_suspected");
    const logs = captureConsole();
    advance(TIMEOUT_MS + 1000);
    for (let i = 0; i < 5; i++) await runAlarm(numberOf(range, i));
    expect(fast2sms.requests).toHaveLength(5);
    expect(msg91.requests).toHaveLength(0);
    expect(logs.events("otp.fallback_skipped")).toEqual(
      Array.from({ length: 5 }, () => expect.objectContaining({ reason: "fraud_suspected" })),
    );
  });

  it("each fallback message counts against its range like a send", async () => {
    const range = freshRange();
    for (let i = 0; i < 3; i++) expect((await sendFrom(numberOf(range, i), i)).status).toBe(200);
    advance(TIMEOUT_MS + 1000);
    // The alarms run with the test environment's own settings (a threshold of 20), so all three go out.
    for (let i = 0; i < 3; i++) await runAlarm(numberOf(range, i));
    expect(msg91.requests).toHaveLength(3);
    expect(await counted(range)).toBe(6);
    // 3 codes, 6 messages: past the threshold of 5, the next send blocks the range.
    expect((await sendFrom(numberOf(range, 9), 9)).body.code).toBe("fraud_suspected");
  });

  it("a verified code stops counting with its fallback messages, once the range reaches its threshold", async () => {
    const range = freshRange();
    const phone = numberOf(range, 1);
    const id = String((await sendFrom(phone, 1)).body.verification_id);
    const code = fast2sms.lastCode();
    advance(TIMEOUT_MS + 1000);
    await runAlarm(phone);
    expect(msg91.lastCode()).toBe(code);
    expect(await counted(range)).toBe(2);
    expect((await verify(phone, code, id, guarded)).status).toBe(200);
    // The verify tells the range nothing; three more sends fill it to its threshold of 5.
    expect(await counted(range)).toBe(2);
    for (let i = 2; i < 5; i++) expect((await sendFrom(numberOf(range, i), i)).status).toBe(200);
    // The next asks the numbers: the verified code and its fallback message (`<codeId>>n`) both go, and it goes out.
    expect((await sendFrom(numberOf(range, 5), 5)).status).toBe(200);
    expect(await counted(range)).toBe(4);
  });

  it("a fallback at the range's threshold asks no number: it is skipped, and starts no block", async () => {
    const range = freshRange();
    const phone = numberOf(range, 1);
    await send(phone);
    // The alarm runs with the test project's threshold (FRAUD_RANGE_MAX_UNVERIFIED in vitest.config.ts): fill the
    // range up to it with entries never looked up (sends whose codes may all have been verified).
    const threshold = loadSettings(env).fraud.maxUnverified;
    const stub = env.RANGE_GUARD.getByName(`range:${range}`);
    await runInDurableObject(stub, (_, state) => {
      for (let i = 1; i < threshold; i++) {
        state.storage.sql.exec(
          "INSERT INTO held (code_id, at, e164, known_until) VALUES (?, ?, ?, NULL)",
          `other${i}`,
          Date.now(),
          numberOf(range, 2),
        );
      }
    });
    advance(Math.max(TIMEOUT_MS, settleMsOf(loadSettings(env))) + 1000);
    const logs = captureConsole();
    await runAlarm(phone);
    expect(msg91.requests).toHaveLength(0);
    expect(logs.events("otp.fallback_skipped")).toEqual([expect.objectContaining({ reason: "fraud_suspected" })]);
    expect(logs.events("fraud.range_blocked")).toEqual([]);
    expect(await stub.block()).toBeNull();
    // Nothing was learnt: no entry was looked up.
    const known = await runInDurableObject(
      stub,
      (_, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM held WHERE known_until IS NOT NULL").one().n,
    );
    expect(known).toBe(0);
  });
});
