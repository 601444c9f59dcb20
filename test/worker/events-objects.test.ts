import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { envWith, uniquePhone, withEnv } from "../helpers/api";
import { capturingQueue } from "../helpers/capturing-queue";
import { msg91Error } from "../helpers/fake-msg91";
import { postFast2smsReport } from "../helpers/fast2sms-report";
import { advance, setUpGatewaysTest } from "../helpers/setup";

/**
 * Events a Durable Object emits from its own calls and alarms (src/index.ts's
 * classes): a session that expired, a code whose fallback found no gateway.
 * The objects read their settings from their own environment, so each test
 * gives its object one with events on and a queue that keeps what it gets.
 */
const { fast2sms, msg91 } = setUpGatewaysTest();

const SECRET = `whsec_${btoa("objects' events secret, 32 bytes")}`;
const DLR = "dlr-secret-Qm7vK2pX9sT4wZ8yB3nC6hJ1";
const DAY = 86_400_000;

function eventsEnv(overrides: Record<string, string> = {}) {
  const { messages, queue } = capturingQueue();
  const environment = envWith({
    EVENTS_WEBHOOK_URL: "https://app.test/events",
    EVENTS_WEBHOOK_SECRET: SECRET,
    EVENTS_QUEUE: queue,
    ...overrides,
  });
  return {
    messages,
    environment,
    events: () => messages.map((m) => JSON.parse(m.body) as { type: string; data: Record<string, unknown> }),
  };
}

/** Gives a Durable Object this environment, as if the Worker had been deployed with it. */
const useEnv = (stub: DurableObjectStub, environment: Env) =>
  runInDurableObject(stub, (instance) => {
    (instance as unknown as { env: Env }).env = environment;
  });

describe("events from the Durable Objects", () => {
  it("a session whose lifetime ran out ends with reason expired, when its alarm prunes it", async () => {
    const { environment, events } = eventsEnv();
    const phone = uniquePhone();
    const stub = env.PHONE_LIMITER.getByName(phone);
    await useEnv(stub, environment);
    const sent = await withEnv(environment, "/send-otp", { json: { phone } });
    const verified = await withEnv(environment, "/verify-otp", {
      json: { phone, otp: fast2sms.lastCode(), verification_id: sent.body.verification_id },
    });
    expect(verified.status).toBe(200);
    const created = events().find((e) => e.type === "session.created")!;
    advance(31 * DAY);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(events().filter((e) => e.type === "session.ended")).toEqual([
      {
        type: "session.ended",
        timestamp: expect.any(String),
        data: { phone, session_id: created.data.session_id, reason: "expired" },
      },
    ]);
  });

  it("a code whose fallback finds no gateway to take it is verification.failed", async () => {
    const { environment, events } = eventsEnv({ DELIVERY_WEBHOOK_SECRET: DLR, SMS_PROVIDERS: "fast2sms,msg91" });
    const phone = uniquePhone();
    const limiter = env.PHONE_LIMITER.getByName(phone);
    await useEnv(limiter, environment);
    const sent = await withEnv(environment, "/send-otp", { json: { phone } });
    expect(sent.status).toBe(200);
    msg91.respond(msg91Error(401, "Invalid authkey"));
    const report = await postFast2smsReport(environment, DLR, {
      messageId: fast2sms.lastMessageId(),
      phone,
      status: "failed",
    });
    expect(report.status).toBe(200);
    // The failed report left a fallback due: no event yet.
    expect(events().filter((e) => e.type === "verification.failed")).toEqual([]);
    expect(await runDurableObjectAlarm(limiter)).toBe(true);
    expect(msg91.requests).toHaveLength(1);
    expect(events().filter((e) => e.type === "verification.failed")).toEqual([
      expect.objectContaining({ data: { phone, verification_id: sent.body.verification_id, channel: "sms" } }),
    ]);
  });
});
