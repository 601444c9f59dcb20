import { describe, expect, it, vi } from "vitest";
import { parseStatuses, verifyHandshake, verifySignature } from "../../src/platform/whatsapp/whatsapp-webhook";
import { hubSignature as signedBy } from "../helpers/fake-whatsapp";
import { setUpWorkerTest } from "../helpers/setup";

setUpWorkerTest();

const VERIFY_TOKEN = "verify-token-3c9e1f7a";
const APP_SECRET = "app-secret-1";

const sign = (body: string | Uint8Array, secret = APP_SECRET) => signedBy(body, secret);

describe("verifyHandshake", () => {
  const query = (fields: Record<string, string>) => new URLSearchParams(fields);
  const good = { "hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN };

  it("answers the challenge to a subscribe with the right token", async () => {
    expect(await verifyHandshake(query(good), VERIFY_TOKEN)).toBe("1158201444");
    expect(await verifyHandshake(good, VERIFY_TOKEN)).toBe("1158201444");
    expect(await verifyHandshake({ ...good, "hub.challenge": ["abc", "def"] }, VERIFY_TOKEN)).toBe("abc");
  });

  it.each([
    ["a wrong token", { ...good, "hub.verify_token": "verify-token-3c9e1f7b" }],
    ["a prefix of the token", { ...good, "hub.verify_token": VERIFY_TOKEN.slice(0, -1) }],
    ["a longer token", { ...good, "hub.verify_token": `${VERIFY_TOKEN}x` }],
    ["an empty token", { ...good, "hub.verify_token": "" }],
    ["no token", { "hub.mode": "subscribe", "hub.challenge": "1" }],
    ["another mode", { ...good, "hub.mode": "unsubscribe" }],
    ["no mode", { "hub.challenge": "1", "hub.verify_token": VERIFY_TOKEN }],
    ["no challenge", { "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN }],
    ["an empty challenge", { ...good, "hub.challenge": "" }],
  ])("refuses %s", async (_, fields) => {
    expect(await verifyHandshake(query(fields as Record<string, string>), VERIFY_TOKEN)).toBeNull();
  });

  it("verifies nothing when no verify token is configured", async () => {
    expect(await verifyHandshake(query({ ...good, "hub.verify_token": "" }), "")).toBeNull();
  });

  it("compares fixed-length digests with timingSafeEqual, whatever the length of the guess", async () => {
    const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
    await verifyHandshake(query(good), VERIFY_TOKEN);
    await verifyHandshake(query({ ...good, "hub.verify_token": "x" }), VERIFY_TOKEN);
    expect(spy).toHaveBeenCalledTimes(2);
    for (const [a, b] of spy.mock.calls) {
      expect([(a as ArrayBuffer).byteLength, (b as ArrayBuffer).byteLength]).toEqual([32, 32]);
    }
  });
});

describe("verifySignature", () => {
  const body = '{"object":"whatsapp_business_account","entry":[]}';

  it("matches a known HMAC-SHA256 vector", async () => {
    const header = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";
    expect(await verifySignature("test", header, "secret")).toBe(true);
    expect(await verifySignature("test", header.toUpperCase().replace("SHA256=", "sha256="), "secret")).toBe(true);
  });

  it("accepts the right signature over the text or the raw bytes", async () => {
    const header = await sign(body);
    expect(await verifySignature(body, header, APP_SECRET)).toBe(true);
    const bytes = new TextEncoder().encode(body);
    expect(await verifySignature(bytes.buffer as ArrayBuffer, header, APP_SECRET)).toBe(true);
    expect(await verifySignature(bytes, header, APP_SECRET)).toBe(true);
  });

  it("signs the bytes as received: Meta's escaped non-ASCII is not the same body as the unescaped one", async () => {
    const escaped = '{"msg":"caf\\u00e9"}';
    const header = "sha256=da6a6b0ab8a286508f7278f536bd577f7d213582238cbaa774efc8fdc91f078a";
    expect(await verifySignature(escaped, header, APP_SECRET)).toBe(true);
    expect(await verifySignature(JSON.stringify(JSON.parse(escaped)), header, APP_SECRET)).toBe(false);
  });

  it("refuses a tampered body, another secret or the verify token as the key", async () => {
    const header = await sign(body);
    expect(await verifySignature(body.replace("[]", "[{}]"), header, APP_SECRET)).toBe(false);
    expect(await verifySignature(`${body} `, header, APP_SECRET)).toBe(false);
    expect(await verifySignature(body, header, "app-secret-2")).toBe(false);
    expect(await verifySignature(body, await sign(body, VERIFY_TOKEN), APP_SECRET)).toBe(false);
  });

  it("refuses a missing, empty or malformed header, and an empty secret", async () => {
    const header = await sign(body);
    const hex = header.slice("sha256=".length);
    for (const bad of [
      null,
      "",
      "sha256=",
      hex,
      `sha1=${hex}`,
      `sha256=${hex.slice(1)}`,
      `sha256=${hex}00`,
      `sha256=${"g".repeat(64)}`,
    ]) {
      expect(await verifySignature(body, bad, APP_SECRET)).toBe(false);
    }
    expect(await verifySignature(body, header, "")).toBe(false);
  });

  it("compares with timingSafeEqual", async () => {
    const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
    expect(await verifySignature(body, await sign("other"), APP_SECRET)).toBe(false);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe("parseStatuses", () => {
  const status = (fields: Record<string, unknown>) => ({
    recipient_id: "919876543210",
    pricing: { billable: true, pricing_model: "PMP", type: "regular", category: "authentication" },
    ...fields,
  });
  const post = (...changes: unknown[][]) => ({
    object: "whatsapp_business_account",
    entry: changes.map((statuses, i) => ({
      id: `WABA${i}`,
      changes: [
        {
          field: "messages",
          value: {
            messaging_product: "whatsapp",
            metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
            statuses,
          },
        },
      ],
    })),
  });

  it("reads every status of a post, across entries, in order", () => {
    const body = post(
      [
        status({ id: "wamid.A", status: "sent", timestamp: "1751142880", biz_opaque_callback_data: "otp-1" }),
        status({ id: "wamid.A", status: "delivered", timestamp: "1751142884", biz_opaque_callback_data: "otp-1" }),
      ],
      [
        status({
          id: "wamid.B",
          status: "failed",
          timestamp: "1751142888",
          biz_opaque_callback_data: "otp-7f3a",
          errors: [{ code: 131049, title: "This message was not delivered to maintain healthy ecosystem engagement." }],
        }),
        status({ id: "wamid.C", status: "read", timestamp: "1751142890" }),
      ],
    );
    expect(parseStatuses(body)).toEqual([
      { messageId: "wamid.A", status: "sent", at: 1751142880000, callbackData: "otp-1", recipientId: "919876543210" },
      {
        messageId: "wamid.A",
        status: "delivered",
        at: 1751142884000,
        callbackData: "otp-1",
        recipientId: "919876543210",
      },
      {
        messageId: "wamid.B",
        status: "failed",
        errorCode: 131049,
        at: 1751142888000,
        callbackData: "otp-7f3a",
        recipientId: "919876543210",
      },
      { messageId: "wamid.C", status: "read", at: 1751142890000, recipientId: "919876543210" },
    ]);
    expect(parseStatuses(JSON.stringify(body))).toEqual(parseStatuses(body));
  });

  it("keeps one of a repeated status, and both of a delivered and a failed for one message", () => {
    const a = status({ id: "wamid.A", status: "delivered", timestamp: "1" });
    const body = post([a, a, status({ id: "wamid.A", status: "failed", errors: [{ code: 131026 }] })]);
    expect(parseStatuses(body)).toEqual([
      { messageId: "wamid.A", status: "delivered", at: 1000, recipientId: "919876543210" },
      { messageId: "wamid.A", status: "failed", errorCode: 131026, recipientId: "919876543210" },
    ]);
  });

  it("skips played, unknown statuses, entries without an id, and bad fields", () => {
    const body = post([
      status({ id: "wamid.P", status: "played" }),
      status({ id: "wamid.X", status: "deleted" }),
      status({ status: "delivered" }),
      status({ id: 42, status: "delivered" }),
      status({
        id: "wamid.OK",
        status: "failed",
        timestamp: "soon",
        errors: "none",
        biz_opaque_callback_data: 7,
        recipient_id: "+91 98765",
      }),
    ]);
    expect(parseStatuses(body)).toEqual([{ messageId: "wamid.OK", status: "failed" }]);
  });

  it("reads nothing from incoming messages, other fields or other objects", () => {
    const messages = {
      object: "whatsapp_business_account",
      entry: [
        {
          changes: [
            { field: "messages", value: { messages: [{ from: "919876543210", id: "wamid.in", type: "text" }] } },
          ],
        },
      ],
    };
    expect(parseStatuses(messages)).toEqual([]);
    const otherField = post([status({ id: "wamid.A", status: "sent" })]);
    (otherField.entry[0]!.changes[0] as { field: string }).field = "message_template_status_update";
    expect(parseStatuses(otherField)).toEqual([]);
    expect(parseStatuses({ ...post([status({ id: "wamid.A", status: "sent" })]), object: "page" })).toEqual([]);
  });

  it.each([undefined, null, 42, "", "{", "[]", "null", [], {}, { entry: "x" }, { entry: [null, 1, { changes: {} }] }])(
    "gives nothing for garbage %j",
    (body) => {
      expect(parseStatuses(body)).toEqual([]);
    },
  );
});
