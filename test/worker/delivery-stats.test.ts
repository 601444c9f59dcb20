import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import {
  failureReasonKey,
  LATENCY_BUCKETS_SECONDS,
  latencyBucket,
  MAX_FAILURE_REASONS,
} from "../../src/domain/stats/delivery-stats";
import { DLT_PROBLEMS } from "../../src/platform/delivery/dlt-reasons";
import type { StatsCounterRpc } from "../../src/platform/stats/stats-counter";
import { type ApiResponse, envWith, uniquePhone, withEnv } from "../helpers/api";
import { FakeWhatsApp, graphError, sent, hubSignature as signedBy, WHATSAPP_FAKE_URL } from "../helpers/fake-whatsapp";
import { advance, setClock, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();
const whatsapp = new FakeWhatsApp();
beforeEach(() => whatsapp.install());

const SECRET = "dlr-secret-Qm7vK2pX9sT4wZ8yB3nC6hJ1";
const ADMIN_TOKEN = "xxIT_SXoxRcrvsZPbU6_8zJoiPCmkzjympyjGpmaNUc";
const APP_SECRET = "wa-app-secret-4f1c9e2b7a6d3085";
const PHONE_NUMBER_ID = "106540352242922";

/** One environment object, so calls share settings (and the circuit breakers); its background work is awaited by withEnv. */
const main = envWith({
  DELIVERY_WEBHOOK_SECRET: SECRET,
  ADMIN_TOKEN,
  WHATSAPP_ACCESS_TOKEN: "EAAtest-whatsapp-access-token-Zx81Qw7",
  WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
  WHATSAPP_TEMPLATE_NAME: "otp_login",
  WHATSAPP_TEMPLATE_LANGUAGE: "en_US",
  WHATSAPP_APP_SECRET: APP_SECRET,
  WHATSAPP_VERIFY_TOKEN: "wa-verify-token-k3J9",
  WHATSAPP_BASE_URL: WHATSAPP_FAKE_URL,
  WHATSAPP_TIMEOUT_MS: "1000",
});

const stats = async (day: string) => {
  const res = await withEnv(main, `/admin/stats?day=${day}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.body.delivery as {
    by_gateway: Record<string, Record<string, Record<string, number | null>>>;
    failures_by_reason: Record<string, number>;
  };
};

async function sendSms(phone: string): Promise<string> {
  const res = await withEnv(main, "/send-otp", { json: { phone } });
  expect(res.status).toBe(200);
  return fast2sms.lastMessageId();
}

async function sendWhatsApp(phone: string): Promise<ApiResponse> {
  const res = await withEnv(main, "/send-otp", { json: { phone, channel: "whatsapp" } });
  expect(res.status).toBe(200);
  return res;
}

type Report = { messageId: string; phone: string; status: "delivered" | "failed"; reason?: string };

/** One Fast2SMS webhook post with these reports (the gateway batches them). */
async function report(...reports: Report[]): Promise<void> {
  const body = JSON.stringify(
    reports.map((r) => ({
      request_id: r.messageId,
      mobile: r.phone.slice(3),
      status: r.status,
      failure_reason: r.reason ?? "",
    })),
  );
  const res = await withEnv(main, `/webhooks/fast2sms/${SECRET}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  expect(res.status).toBe(200);
}

const hubSignature = (body: string) => signedBy(body, APP_SECRET);

/** One signed WhatsApp status post, stamped with the (test's) clock. */
async function whatsappStatus(s: { id: string; status: string; recipient_id: string; errors?: { code: number }[] }) {
  const body = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "WABA_ID",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: "15550783881", phone_number_id: PHONE_NUMBER_ID },
              statuses: [{ timestamp: String(Math.floor(Date.now() / 1000)), ...s }],
            },
          },
        ],
      },
    ],
  });
  const res = await withEnv(main, "/webhooks/whatsapp", {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "x-hub-signature-256": await hubSignature(body) },
  });
  expect(res.status).toBe(200);
}

describe("GET /admin/stats: delivery", () => {
  it("counts a scripted day: sent, delivered, failed, unreported, fallbacks, times to delivery, failure reasons", async () => {
    const day = "2031-05-20";
    setClock(Date.parse(`${day}T08:00:00Z`));
    // Nothing yet: no routes, no reasons.
    expect(await stats(day)).toEqual({ by_gateway: {}, failures_by_reason: {} });

    const phones = Array.from({ length: 6 }, () => uniquePhone());
    const ids: string[] = [];
    for (const phone of phones) ids.push(await sendSms(phone));
    const [a, b, c, d, e] = phones.map((phone, i) => ({ phone, messageId: ids[i]! }));

    // WhatsApp refuses the recipient: the code goes out by SMS, a fallback of fast2sms/sms.
    whatsapp.respond(graphError(400, 131026));
    expect((await sendWhatsApp(uniquePhone())).body.channel).toBe("sms");
    // Two WhatsApp messages: one delivered 3 s on, one failed.
    const [w1, w2] = [uniquePhone(), uniquePhone()];
    const wamids = [`wamid.TEST${crypto.randomUUID().replaceAll("-", "")}`, `wamid.TEST${crypto.randomUUID()}`];
    whatsapp.respond(sent(wamids[0]!));
    expect((await sendWhatsApp(w1)).body.channel).toBe("whatsapp");
    whatsapp.respond(sent(wamids[1]!));
    expect((await sendWhatsApp(w2)).body.channel).toBe("whatsapp");

    advance(2_000); // a: 2 s
    await report({ ...a!, status: "delivered" });
    advance(1_000); // w1: 3 s
    await whatsappStatus({ id: wamids[0]!, status: "delivered", recipient_id: w1.slice(1) });
    await whatsappStatus({ id: wamids[1]!, status: "failed", recipient_id: w2.slice(1), errors: [{ code: 131049 }] });
    advance(7_000); // b: 10 s, and two failures in the same post
    await report(
      { ...b!, status: "delivered" },
      { ...c!, status: "failed", reason: "DLT TEMPLATE NOT MATCHED" },
      { ...d!, status: "failed", reason: "ABSENT-SUB" },
    );
    advance(40_000); // e: 50 s
    await report({ ...e!, status: "delivered" });
    // Repeats and older news change nothing, so they count nothing.
    await report({ ...a!, status: "delivered" }, { ...b!, status: "failed", reason: "EXPIRED" });
    await report({ messageId: "no-such-request-id", phone: a!.phone, status: "delivered" });

    expect(await stats(day)).toEqual({
      by_gateway: {
        fast2sms: {
          // Six SMS and the WhatsApp fallback; the sixth SMS and the fallback have no report.
          sms: {
            sent: 7,
            delivered: 3,
            failed: 2,
            unreported: 2,
            fallbacks: 1,
            // Delays 2, 10 and 50 s fall in the buckets 2, 13 and 55: the median is the second, p95 the third.
            p50_seconds: 13,
            p95_seconds: 55,
          },
        },
        whatsapp: {
          whatsapp: {
            sent: 2,
            delivered: 1,
            failed: 1,
            unreported: 0,
            fallbacks: 0,
            p50_seconds: 3,
            p95_seconds: 3,
          },
        },
      },
      failures_by_reason: { [DLT_PROBLEMS.templateMismatch]: 1, absent_sub: 1, whatsapp_131049: 1 },
    });
    // The rest of the day's figures still add up with it.
    const all = await withEnv(main, `/admin/stats?day=${day}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(all.body).toMatchObject({
      sends: 9,
      by_gateway: { fast2sms: { sent: 7 }, whatsapp: { sent: 2, failed: 1 } },
    });
  });

  it("a report counts on the day its message was sent; a delivery after a failure moves it from failed to delivered", async () => {
    const day = "2031-05-21";
    setClock(Date.parse(`${day}T23:59:58Z`));
    const phone = uniquePhone();
    const messageId = await sendSms(phone);
    await report({ phone, messageId, status: "failed", reason: "ABSENT-SUB" });
    expect((await stats(day)).by_gateway.fast2sms?.sms).toMatchObject({ sent: 1, failed: 1, unreported: 0 });

    advance(5_000); // the next day, 5 s after the send
    await report({ phone, messageId, status: "delivered" });
    expect(await stats(day)).toEqual({
      by_gateway: {
        fast2sms: {
          sms: {
            sent: 1,
            delivered: 1,
            failed: 0,
            unreported: 0,
            fallbacks: 0,
            p50_seconds: 5,
            p95_seconds: 5,
          },
        },
      },
      // The failure was reported: its reason stays counted.
      failures_by_reason: { absent_sub: 1 },
    });
    expect(await stats("2031-05-22")).toEqual({ by_gateway: {}, failures_by_reason: {} });
  });

  it(`keeps at most ${MAX_FAILURE_REASONS} reasons a day, the rest as other`, async () => {
    const day = "2031-05-23";
    setClock(Date.parse(`${day}T10:00:00Z`));
    const reports: Report[] = [];
    for (let i = 0; i < MAX_FAILURE_REASONS + 3; i++) {
      const phone = uniquePhone();
      reports.push({ phone, messageId: await sendSms(phone), status: "failed", reason: `vendor reason ${i}` });
    }
    await report(...reports);
    const { failures_by_reason: reasons, by_gateway } = await stats(day);
    expect(by_gateway.fast2sms?.sms).toMatchObject({ sent: MAX_FAILURE_REASONS + 3, failed: MAX_FAILURE_REASONS + 3 });
    expect(Object.keys(reasons)).toHaveLength(MAX_FAILURE_REASONS + 1);
    expect(reasons.other).toBe(3);
    expect(Object.values(reasons).reduce((x, y) => x + y, 0)).toBe(MAX_FAILURE_REASONS + 3);
  });
});

describe("a capped counter", () => {
  it("keeps at most its cap of keys in a shard, the rest under other", async () => {
    const day = "2031-05-24";
    const shard = env.STATS_COUNTER.getByName(`stats:${day}:0`) as unknown as StatsCounterRpc;
    const one = (key: string) => ({ metric: "delivery_failure_reason", key, n: 1, cap: 2 });
    await shard.record(day, [one("a"), one("b"), one("c")]);
    await shard.record(day, [one("a"), one("d")]);
    const { counters } = await shard.read(day);
    expect(Object.fromEntries(counters.map((c) => [c.key, c.n]))).toEqual({ a: 2, b: 1, other: 2 });
  });
});

describe("failure reasons and delays, as counted", () => {
  it("names the DLT problem, else a short normalised reason without long digit runs", () => {
    expect(failureReasonKey("fast2sms", "DLT-ERR 633")).toBe(DLT_PROBLEMS.templateMismatch);
    expect(failureReasonKey("msg91", "Rejected: number 919812345678 in DND")).toBe(DLT_PROBLEMS.preference);
    expect(failureReasonKey("msg91", "Absent subscriber, number 919812345678")).toBe("absent_subscriber_number_#");
    expect(failureReasonKey("twofactor", undefined)).toBe("unspecified");
    expect(failureReasonKey("twofactor", "   ")).toBe("unspecified");
    expect(failureReasonKey("whatsapp", "131026")).toBe("whatsapp_131026");
    // WhatsApp's codes are Meta's, not DLT's, whatever they look like.
    expect(failureReasonKey("whatsapp", "633")).toBe("whatsapp_633");
    expect(failureReasonKey("fast2sms", "x".repeat(300)).length).toBeLessThanOrEqual(40);
  });

  it("puts a delay in the smallest bucket at or above it; the last holds anything later", () => {
    expect(latencyBucket(0)).toBe(1);
    expect(latencyBucket(1_000)).toBe(1);
    expect(latencyBucket(1_001)).toBe(2);
    expect(latencyBucket(-5_000)).toBe(1);
    expect(latencyBucket(601_000)).toBe(3600);
    expect(latencyBucket(86_400_000)).toBe(LATENCY_BUCKETS_SECONDS.at(-1));
  });
});
