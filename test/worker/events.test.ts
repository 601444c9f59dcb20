import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { settleMsOf } from "../../src/domain/guards/range-guard";
import worker from "../../src/index";
import { loadSettings } from "../../src/kernel/config/settings";
import { MisconfiguredError } from "../../src/kernel/errors/service-error";
import { RETRY_DELAYS_SECONDS } from "../../src/platform/events/event-delivery";
import type { EventMessage } from "../../src/platform/events/event-message";
import { envWith, uniquePhone, withEnv } from "../helpers/api";
import { capturingQueue } from "../helpers/capturing-queue";
import { postFast2smsReport } from "../helpers/fast2sms-report";
import { captureConsole } from "../helpers/log-capture";
import { routeOutbound } from "../helpers/outbound";
import { advance, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

/** A Standard Webhooks secret as the receiver holds it (32 random bytes). */
const SECRET = `whsec_${btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)))}`;
const RECEIVER = "https://app.test";
/** The receiver takes a token in its query: it must never reach a log line. */
const URL_TOKEN = "q-token-7c1e9a";
const EVENTS = {
  EVENTS_WEBHOOK_URL: `${RECEIVER}/otp-events?token=${URL_TOKEN}`,
  EVENTS_WEBHOOK_SECRET: SECRET,
  DELIVERY_WEBHOOK_SECRET: "dlr-secret-Qm7vK2pX9sT4wZ8yB3nC6hJ1",
};

function eventsEnv() {
  const { messages, queue } = capturingQueue();
  return { messages, environment: envWith({ ...EVENTS, EVENTS_QUEUE: queue }) };
}

const parsed = (m: EventMessage) =>
  JSON.parse(m.body) as { type: string; timestamp: string; data: Record<string, unknown> };

/** What the receiver got: each post verified with the standardwebhooks package, as an app's backend would. */
function receiver(answers: number[]) {
  const posts: { id: string; timestamp: string; body: string; url: string }[] = [];
  const wh = new Webhook(SECRET);
  routeOutbound(RECEIVER, async (request) => {
    const body = await request.text();
    const headers = Object.fromEntries(request.headers);
    wh.verify(body, headers); // throws on a bad signature or a stale timestamp
    posts.push({ id: headers["webhook-id"]!, timestamp: headers["webhook-timestamp"]!, body, url: request.url });
    return new Response("", { status: answers[posts.length - 1] ?? 200 });
  });
  return posts;
}

/** Runs the Worker's queue() handler on these messages (attempt `attempts`), as the runtime would. */
async function consume(messages: EventMessage[], attempts = 1, environment: Env = envWith(EVENTS)) {
  const batch = createMessageBatch<EventMessage>(
    "phone-otp-events",
    messages.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts, body })),
  );
  // getQueueResult names the retried messages; their delays are read off the calls.
  const delays = batch.messages.map((m) => {
    const spy = vi.spyOn(m, "retry");
    return () => spy.mock.calls.map(([options]) => ({ msgId: m.id, delaySeconds: options?.delaySeconds }));
  });
  const ctx = createExecutionContext();
  await worker.queue(batch, environment, ctx);
  const result = await getQueueResult(batch, ctx);
  return { ...result, retryMessages: delays.flatMap((d) => d()) };
}

async function signIn(environment: Env, phone: string) {
  const sent = await withEnv(environment, "/send-otp", { json: { phone } });
  expect(sent.status).toBe(200);
  const code = fast2sms.lastCode();
  const verified = await withEnv(environment, "/verify-otp", {
    json: { phone, otp: code, verification_id: sent.body.verification_id },
  });
  expect(verified.status).toBe(200);
  return { id: String(sent.body.verification_id), code, verified: verified.body };
}

describe("events to the app's backend", () => {
  it("a sign-in emits sent, approved and session.created; a logout session.ended; none carries a code or token", async () => {
    const { messages, environment } = eventsEnv();
    const phone = uniquePhone();
    const { id, code, verified } = await signIn(environment, phone);
    const refreshed = await withEnv(environment, "/token/refresh", {
      json: { refresh_token: verified.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    const out = await withEnv(environment, "/logout", { json: { refresh_token: refreshed.body.refresh_token } });
    expect(out.status).toBe(204);

    const events = messages.map(parsed);
    expect(events.map((e) => e.type)).toEqual([
      "verification.sent",
      "verification.approved",
      "session.created",
      "session.ended",
    ]);
    expect(events[0]!.data).toEqual({ phone, verification_id: id, channel: "sms" });
    expect(events[1]!.data).toEqual({ phone, verification_id: id });
    const sessionId = events[2]!.data.session_id;
    expect(sessionId).toEqual(expect.any(String));
    expect(events[3]!.data).toEqual({ phone, session_id: sessionId, reason: "logout" });
    for (const e of events) expect(Date.parse(e.timestamp)).not.toBeNaN();
    // Distinct ids, made when each event happened.
    expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);
    for (const m of messages) expect(m.id).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
    const secrets = [
      code,
      String(verified.access_token),
      String(verified.refresh_token),
      String(refreshed.body.refresh_token),
    ];
    for (const m of messages) for (const s of secrets) expect(m.body).not.toContain(s);
  });

  it("session.ended says why: logout_all for every session, reuse_detected for a rotated token used again", async () => {
    const { messages, environment } = eventsEnv();
    const phone = uniquePhone();
    const first = await signIn(environment, phone);
    const rotated = await withEnv(environment, "/token/refresh", {
      json: { refresh_token: first.verified.refresh_token },
    });
    expect(rotated.status).toBe(200);
    // The first token again after its rotation's grace window (REFRESH_REUSE_GRACE_SECONDS): reuse ends the session.
    advance(11_000);
    const reuse = await withEnv(environment, "/token/refresh", {
      json: { refresh_token: first.verified.refresh_token },
    });
    expect(reuse.status).toBe(401);

    // Past the resend cooldown before each new code.
    advance(42_000);
    await signIn(environment, phone);
    advance(73_000);
    const third = await signIn(environment, phone);
    const all = await withEnv(environment, "/logout-all", {
      method: "POST",
      headers: { authorization: `Bearer ${String(third.verified.access_token)}` },
    });
    expect(all.status).toBe(204);

    const ended = messages.map(parsed).filter((e) => e.type === "session.ended");
    expect(ended.map((e) => e.data.reason)).toEqual(["reuse_detected", "logout_all", "logout_all"]);
    const created = messages
      .map(parsed)
      .filter((e) => e.type === "session.created")
      .map((e) => e.data.session_id);
    expect(ended[0]!.data.session_id).toBe(created[0]);
    expect(
      ended
        .slice(1)
        .map((e) => e.data.session_id)
        .sort(),
    ).toEqual([created[1], created[2]].sort());
  });

  it("a delivery report becomes verification.delivered; a failed one with nothing left to try, verification.failed", async () => {
    const { messages, environment } = eventsEnv();
    const report = (phone: string, status: "delivered" | "failed") =>
      postFast2smsReport(environment, EVENTS.DELIVERY_WEBHOOK_SECRET, {
        messageId: fast2sms.lastMessageId(),
        phone,
        status,
      });
    const a = uniquePhone();
    const sentA = await withEnv(environment, "/send-otp", { json: { phone: a } });
    expect((await report(a, "delivered")).status).toBe(200);
    const b = uniquePhone();
    const sentB = await withEnv(environment, "/send-otp", { json: { phone: b } });
    expect((await report(b, "failed")).status).toBe(200);

    const events = messages.map(parsed).filter((e) => e.type !== "verification.sent");
    expect(events).toEqual([
      expect.objectContaining({
        type: "verification.delivered",
        data: { phone: a, verification_id: sentA.body.verification_id, channel: "sms" },
      }),
      expect.objectContaining({
        type: "verification.failed",
        data: { phone: b, verification_id: sentB.body.verification_id, channel: "sms" },
      }),
    ]);
  });

  it("the fraud guard's block and its lifting are events: the range and the block, no number", async () => {
    const token = "xxIT_SXoxRcrvsZPbU6_8zJoiPCmkzjympyjGpmaNUc";
    const { messages, queue } = capturingQueue();
    const environment = envWith({
      ...EVENTS,
      EVENTS_QUEUE: queue,
      FRAUD_RANGE_MAX_UNVERIFIED: "5",
      ADMIN_TOKEN: token,
    });
    const range = `+9193${Array.from(crypto.getRandomValues(new Uint8Array(5)), (b) => String(b % 10)).join("")}`;
    const sendFrom = (i: number) =>
      withEnv(environment, "/send-otp", {
        json: { phone: `${range}${String(i).padStart(3, "0")}` },
        headers: { "cf-connecting-ip": `203.0.113.${i + 1}` },
        cf: { asn: 64_700 + i },
      } as RequestInit & { json: unknown });
    for (let i = 0; i < 5; i++) expect((await sendFrom(i)).status).toBe(200);
    advance(settleMsOf(loadSettings(environment)));
    expect((await sendFrom(5)).status).toBe(403);
    const lifted = await withEnv(environment, `/admin/blocks/${encodeURIComponent(range)}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(lifted.status).toBe(204);
    const fraud = messages.map(parsed).filter((e) => e.type.startsWith("fraud."));
    expect(fraud).toEqual([
      {
        type: "fraud.range_blocked",
        timestamp: expect.any(String),
        data: { range, since: expect.any(String), until: expect.any(String), unverified: 5, times_today: 1 },
      },
      { type: "fraud.range_lifted", timestamp: expect.any(String), data: { range } },
    ]);
    const block = fraud[0]!.data;
    expect(Date.parse(String(block.until)) - Date.parse(String(block.since))).toBe(60 * 60_000);
    for (const m of messages.filter((m) => m.type.startsWith("fraud."))) expect(m.body).not.toMatch(/\+\d{12}/);
  });

  it("nothing is emitted while EVENTS_WEBHOOK_URL is unset", async () => {
    const { messages, queue } = capturingQueue();
    await signIn(envWith({ EVENTS_QUEUE: queue }), uniquePhone());
    expect(messages).toEqual([]);
  });

  it("a queue that refuses is logged and the sign-in goes on", async () => {
    const logs = captureConsole();
    const failing = {
      send: () => Promise.reject(new Error("queue down")),
      sendBatch: () => Promise.reject(new Error("queue down")),
    };
    await signIn(envWith({ ...EVENTS, EVENTS_QUEUE: failing }), uniquePhone());
    expect(logs.events("events.enqueue_failed").length).toBeGreaterThan(0);
  });
});

describe("the queue consumer posts each event signed, as Standard Webhooks says", () => {
  it("the receiver verifies it with the standardwebhooks package; a 2xx acks it", async () => {
    const { messages, environment } = eventsEnv();
    await signIn(environment, uniquePhone());
    const posts = receiver([]);
    const result = await consume(messages);
    expect(result.explicitAcks.sort()).toEqual(messages.map((_, i) => `m${i}`).sort());
    expect(result.retryMessages).toEqual([]);
    expect(posts.map((p) => p.id).sort()).toEqual(messages.map((m) => m.id).sort());
    for (const p of posts) expect(messages.find((m) => m.id === p.id)?.body).toBe(p.body);
  });

  it("a receiver that answers 500 first gets the same event again, with the same webhook-id, a fresh timestamp", async () => {
    const logs = captureConsole();
    const { messages, environment } = eventsEnv();
    await withEnv(environment, "/send-otp", { json: { phone: uniquePhone() } });
    expect(messages).toHaveLength(1);
    const posts = receiver([500, 200]);

    const first = await consume(messages, 1);
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages).toEqual([{ msgId: "m0", delaySeconds: RETRY_DELAYS_SECONDS[0] }]);
    expect(RETRY_DELAYS_SECONDS[0]).toBeLessThanOrEqual(60);

    const second = await consume(messages, 2);
    expect(second.explicitAcks).toEqual(["m0"]);
    expect(posts).toHaveLength(2);
    expect(posts[1]!.id).toBe(posts[0]!.id);
    expect(posts[1]!.body).toBe(posts[0]!.body);

    const failed = logs.events("events.delivery_failed");
    expect(failed).toEqual([expect.objectContaining({ http_status: 500, attempt: 1, retry_in_seconds: 30 })]);
    expect(failed[0]!.endpoint).toBe(`${RECEIVER}/otp-events`);
    for (const line of logs.raw) expect(line).not.toContain(URL_TOKEN);
  });

  it("an error whose text quotes a long endpoint URL is logged without the URL's query, however it was cut", async () => {
    const host = "https://api.example-company-backend.com";
    const url = `${host}/webhooks/phone-otp/events?token=${URL_TOKEN}`;
    routeOutbound(host, async () => {
      // The URL whole, and a long opaque run of it that describeError would redact, leaving the query behind.
      throw new TypeError(`fetch to ${url} failed (${url.replace("https://", "")}; token=${URL_TOKEN})`);
    });
    const logs = captureConsole();
    const { messages, environment } = eventsEnv();
    await withEnv(environment, "/send-otp", { json: { phone: uniquePhone() } });
    const result = await consume(messages, 1, envWith({ ...EVENTS, EVENTS_WEBHOOK_URL: url }));
    expect(result.retryMessages).toEqual([{ msgId: "m0", delaySeconds: RETRY_DELAYS_SECONDS[0] }]);
    const [failed] = logs.events("events.delivery_failed");
    expect(failed).toEqual(expect.objectContaining({ endpoint: `${host}/webhooks/phone-otp/events` }));
    expect(String(failed!.error)).toMatch(/^TypeError: fetch to /);
    for (const line of logs.raw) expect(line).not.toContain(URL_TOKEN);
  });

  it("a redirect is not followed: the event goes to no other address, and is retried", async () => {
    const { messages, environment } = eventsEnv();
    await withEnv(environment, "/send-otp", { json: { phone: uniquePhone() } });
    const elsewhere: string[] = [];
    const modes: string[] = [];
    routeOutbound(RECEIVER, async (request) => {
      modes.push(request.redirect);
      return new Response("", { status: 302, headers: { location: "http://10.0.0.1/x" } });
    });
    routeOutbound("http://10.0.0.1", async (request) => {
      elsewhere.push(request.url);
      return new Response("");
    });
    const result = await consume(messages, 1);
    expect(result.retryMessages).toEqual([{ msgId: "m0", delaySeconds: RETRY_DELAYS_SECONDS[0] }]);
    expect(elsewhere).toEqual([]);
    // The post asks the runtime not to follow (the fake stands in for the runtime's fetch).
    expect(modes).toEqual(["manual"]);
  });

  it.each([
    ["http://app.example.com/events", "http to another machine"],
    ["http://localhost.example.com/events", "a name that starts with localhost"],
    ["https://user:pass@app.example.com/events", "a user name and password"],
    ["ftp://app.example.com/events", "another scheme"],
    ["app.example.com/events", "not a URL"],
  ])("EVENTS_WEBHOOK_URL=%s (%s) is a settings error", (url) => {
    let error: unknown;
    try {
      loadSettings(envWith({ ...EVENTS, EVENTS_WEBHOOK_URL: url }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MisconfiguredError);
    expect((error as MisconfiguredError).settings).toContain("EVENTS_WEBHOOK_URL");
  });

  it("EVENTS_WEBHOOK_URL may be https anywhere, or http to this machine", () => {
    for (const url of [
      "https://app.example.com/e?t=1",
      "http://localhost:3000/e",
      "http://127.0.0.1/e",
      "http://[::1]/e",
    ]) {
      expect(loadSettings(envWith({ ...EVENTS, EVENTS_WEBHOOK_URL: url })).events?.url).toBe(new URL(url).href);
    }
  });

  it("retries back off for more than an hour in all, then the event is dropped and logged", async () => {
    const total = RETRY_DELAYS_SECONDS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(3600);
    for (let i = 1; i < RETRY_DELAYS_SECONDS.length; i++) {
      expect(RETRY_DELAYS_SECONDS[i]!).toBeGreaterThan(RETRY_DELAYS_SECONDS[i - 1]!);
    }
    const logs = captureConsole();
    const { messages, environment } = eventsEnv();
    await withEnv(environment, "/send-otp", { json: { phone: uniquePhone() } });
    receiver([503]);
    const last = await consume(messages, RETRY_DELAYS_SECONDS.length + 1);
    expect(last.explicitAcks).toEqual(["m0"]);
    expect(logs.events("events.given_up")).toHaveLength(1);
  });

  it("no answer within EVENTS_WEBHOOK_TIMEOUT_MS is retried like a 5xx", async () => {
    const { messages, environment } = eventsEnv();
    await withEnv(environment, "/send-otp", { json: { phone: uniquePhone() } });
    routeOutbound(
      RECEIVER,
      (request) =>
        new Promise<Response>((_, reject) =>
          request.signal.addEventListener("abort", () => reject(request.signal.reason)),
        ),
    );
    const result = await consume(messages, 1, envWith({ ...EVENTS, EVENTS_WEBHOOK_TIMEOUT_MS: "1000" }));
    expect(result.retryMessages).toEqual([{ msgId: "m0", delaySeconds: 30 }]);
  });

  it("events queued before EVENTS_WEBHOOK_URL was removed are dropped, not posted", async () => {
    const { messages, environment } = eventsEnv();
    await withEnv(environment, "/send-otp", { json: { phone: uniquePhone() } });
    const result = await consume(messages, 1, env);
    expect(result.ackAll).toBe(true);
  });
});
