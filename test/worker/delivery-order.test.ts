import { beforeEach, describe, expect, it } from "vitest";
import { SmsFailedError } from "../../src/kernel/errors/service-error";
import { DELIVERY_HEALTH, recordDeliveryOutcome, resetDeliveryHealth } from "../../src/platform/sms/delivery-health";
import { createFailoverGateway } from "../../src/platform/sms/failover-gateway";
import type { Channel, SmsGateway } from "../../src/platform/sms/sms-gateway";
import { envWith, uniquePhone, withEnv } from "../helpers/api";
import { ok, refused } from "../helpers/fake-fast2sms";
import { msg91Error, msg91Ok } from "../helpers/fake-msg91";
import { captureConsole } from "../helpers/log-capture";
import { advance, setUpGatewaysTest } from "../helpers/setup";

const { fast2sms, msg91 } = setUpGatewaysTest();

const SECRET = "dlr-secret-Qm7vK2pX9sT4wZ8yB3nC6hJ1";
const env = envWith({ DELIVERY_WEBHOOK_SECRET: SECRET, SMS_PROVIDERS: "fast2sms,msg91" });

beforeEach(() => resetDeliveryHealth());

interface Sent {
  phone: string;
  gateway: "fast2sms" | "msg91";
  messageId: string;
}

/** A send to a new number, and which gateway took it (with the id its reports name). */
async function send(): Promise<Sent> {
  const phone = uniquePhone();
  const before = { fast2sms: fast2sms.messageIds.length, msg91: msg91.messageIds.length };
  const res = await withEnv(env, "/send-otp", { json: { phone } });
  expect(res.status).toBe(200);
  if (fast2sms.messageIds.length > before.fast2sms) {
    expect(msg91.messageIds.length).toBe(before.msg91);
    return { phone, gateway: "fast2sms", messageId: fast2sms.lastMessageId() };
  }
  expect(msg91.messageIds.length).toBe(before.msg91 + 1);
  return { phone, gateway: "msg91", messageId: msg91.lastMessageId() };
}

async function sends(n: number): Promise<Sent[]> {
  const all: Sent[] = [];
  for (let i = 0; i < n; i++) all.push(await send());
  return all;
}

/** Fast2SMS's report of one message, through the real webhook. */
async function report({ phone, messageId }: Sent, status: "delivered" | "failed"): Promise<void> {
  const res = await withEnv(env, `/webhooks/fast2sms/${SECRET}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ request_id: messageId, mobile: phone.slice(3), status, failure_reason: "" }),
  });
  expect(res.status).toBe(200);
}

const { minReports, window, maxAgeMs } = DELIVERY_HEALTH;

describe("delivery-aware gateway order", () => {
  it("sends go to msg91 first once most of fast2sms's recent reports are failures, and back once they recover", async () => {
    const log = captureConsole();
    const earlier = await sends(window + 1);
    expect(earlier.every((s) => s.gateway === "fast2sms")).toBe(true);
    const failing = earlier.slice(0, minReports);
    const later = earlier.slice(minReports);

    for (const s of failing) await report(s, "failed");
    expect(log.events("sms.gateway_demoted")).toEqual([
      expect.objectContaining({ gateway: "fast2sms", channel: "sms", reports: minReports, failed: minReports }),
    ]);
    expect((await send()).gateway).toBe("msg91");
    expect((await send()).gateway).toBe("msg91");
    expect(log.events("sms.gateway_demoted")).toHaveLength(1);

    // 10 failed then 11 delivered: the last 20 hold 9 failures, under half.
    for (const s of later.slice(0, -1)) await report(s, "delivered");
    expect(log.events("sms.gateway_restored")).toEqual([]);
    expect((await send()).gateway).toBe("msg91");
    await report(later.at(-1)!, "delivered");
    expect(log.events("sms.gateway_restored")).toEqual([
      expect.objectContaining({ gateway: "fast2sms", channel: "sms", reports: window, failed: minReports - 1 }),
    ]);
    expect((await send()).gateway).toBe("fast2sms");
    expect(log.events("sms.gateway_demoted")).toHaveLength(1);
  });

  it("fewer reports than the minimum change nothing, and a repeated report is counted once", async () => {
    const earlier = await sends(minReports);
    for (const s of earlier.slice(0, minReports - 1)) await report(s, "failed");
    expect((await send()).gateway).toBe("fast2sms");
    // The same failure again moves no message forward, so it does not count.
    await report(earlier[0]!, "failed");
    expect((await send()).gateway).toBe("fast2sms");
    await report(earlier.at(-1)!, "failed");
    expect((await send()).gateway).toBe("msg91");
  });

  it("half the reports failed is enough; reports of unknown messages count for nothing", async () => {
    const earlier = await sends(minReports);
    for (const [i, s] of earlier.entries()) await report(s, i % 2 === 0 ? "failed" : "delivered");
    expect((await send()).gateway).toBe("msg91");

    resetDeliveryHealth();
    const phone = uniquePhone();
    for (let i = 0; i < minReports; i++) await report({ phone, gateway: "fast2sms", messageId: `nope-${i}` }, "failed");
    expect((await send()).gateway).toBe("fast2sms");
  });

  it("a demoted gateway is never dropped: it is still tried when msg91 fails, and again first once its reports age out", async () => {
    const log = captureConsole();
    for (const s of await sends(minReports)) await report(s, "failed");
    msg91.respond(msg91Error(500, "internal error"));
    const fellBack = await send();
    expect(fellBack.gateway).toBe("fast2sms");
    expect(log.events("sms.sent").at(-1)).toMatchObject({ gateway: "fast2sms", failed_over_from: ["msg91"] });

    // Both fail: the send answers 502 after trying each, the demoted one last.
    msg91.respond(msg91Error(500, "internal error"));
    fast2sms.respond(refused(500, 500, "server error"));
    const phone = uniquePhone();
    expect((await withEnv(env, "/send-otp", { json: { phone } })).status).toBe(502);
    const failed = log.events("sms.gateway_failed").slice(-2);
    expect(failed.map((e) => e.gateway)).toEqual(["msg91", "fast2sms"]);

    msg91.respond(msg91Ok());
    fast2sms.respond(ok());
    advance(maxAgeMs);
    expect((await send()).gateway).toBe("fast2sms");
    expect(log.events("sms.gateway_restored")).toEqual([
      expect.objectContaining({ gateway: "fast2sms", channel: "sms", reports: 0, failed: 0 }),
    ]);
  });
});

describe("the order within each channel only", () => {
  const message = {
    to: { e164: "+919876543210", country: "IN" as const, national: "9876543210" },
    code: "482913",
    appName: "A",
  };
  /** A gateway that records its calls and fails when told to. */
  function stub(name: string, channels: Channel[], calls: string[], fails = false): SmsGateway {
    return {
      name,
      channels,
      async send(m) {
        calls.push(`${name}:${m.channel ?? "sms"}`);
        if (fails) throw new SmsFailedError({ gateway: name, delivery: "not_sent", retryable: true, reason: "down" });
        return { messageId: `${name}-${calls.length}` };
      },
    };
  }
  const fail = (gateway: string, channel: Channel) => {
    for (let i = 0; i < minReports; i++) recordDeliveryOutcome(gateway, channel, "failed");
  };

  it("keeps WhatsApp first on the whatsapp channel, and reorders only the SMS gateways of its fallback", async () => {
    captureConsole();
    fail("whatsapp", "whatsapp");
    fail("a", "sms");
    const calls: string[] = [];
    const gateway = (whatsappFails: boolean) =>
      createFailoverGateway(
        [
          stub("whatsapp", ["whatsapp"], calls, whatsappFails),
          stub("a", ["sms"], calls),
          stub("b", ["sms"], calls, true),
          stub("c", ["sms"], calls),
        ],
        { deadlineMs: 20_000, fallback: { whatsapp: "sms" } },
      );
    expect(await gateway(false).send({ ...message, channel: "whatsapp" })).toMatchObject({ gateway: "whatsapp" });
    expect(calls).toEqual(["whatsapp:whatsapp"]);
    calls.length = 0;
    expect(await gateway(true).send({ ...message, channel: "whatsapp" })).toMatchObject({ gateway: "c" });
    // a would deliver, but its reports put it behind b and c.
    expect(calls).toEqual(["whatsapp:whatsapp", "b:sms", "c:sms"]);
  });

  it("a gateway's failures on one channel do not move it on another", async () => {
    captureConsole();
    fail("a", "voice");
    const calls: string[] = [];
    const gateway = createFailoverGateway([stub("a", ["sms", "voice"], calls), stub("b", ["sms", "voice"], calls)], {
      deadlineMs: 20_000,
    });
    await gateway.send(message);
    await gateway.send({ ...message, channel: "voice" });
    expect(calls).toEqual(["a:sms", "b:voice"]);
  });

  it("the demoted gateway is the last resort when it is the only one", async () => {
    captureConsole();
    fail("a", "sms");
    const calls: string[] = [];
    await createFailoverGateway([stub("a", ["sms"], calls)], { deadlineMs: 20_000 }).send(message);
    expect(calls).toEqual(["a:sms"]);
  });
});
