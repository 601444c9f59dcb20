import { beforeEach, describe, expect, it } from "vitest";
import {
  sendWhatsAppCode,
  type WhatsAppFailureKind,
  type WhatsAppSendError,
  type WhatsAppSendOptions,
} from "../../src/platform/whatsapp/whatsapp-send";
import { FakeWhatsApp, graphError, sent, WHATSAPP_FAKE_URL } from "../helpers/fake-whatsapp";
import { setUpWorkerTest } from "../helpers/setup";

setUpWorkerTest();
const whatsapp = new FakeWhatsApp();
beforeEach(() => whatsapp.install());

const TOKEN = "EAAtest-whatsapp-token-5e1d9c";

function options(overrides: Partial<WhatsAppSendOptions> = {}): WhatsAppSendOptions {
  return {
    baseUrl: WHATSAPP_FAKE_URL,
    apiVersion: "v25.0",
    phoneNumberId: "106540352242922",
    accessToken: TOKEN,
    templateName: "verification_code",
    language: "en_US",
    to: "+919876543210",
    code: "482913",
    timeoutMs: 1000,
    ...overrides,
  };
}

/** The failure a send throws; fails the test if it resolves. */
async function failure(opts: WhatsAppSendOptions = options()): Promise<WhatsAppSendError> {
  try {
    await sendWhatsAppCode(opts);
  } catch (err) {
    expect((err as Error).name).toBe("WhatsAppSendError");
    return err as WhatsAppSendError;
  }
  throw new Error("the send succeeded");
}

/** Nothing of the token, nor Meta's own text, in anything the failure carries. */
function expectNoSecret(err: WhatsAppSendError, vendorText?: string): void {
  const everything = [
    err.message,
    String(err),
    err.stack ?? "",
    JSON.stringify(err),
    JSON.stringify(err.settings),
  ].join("\n");
  expect(everything).not.toContain(TOKEN);
  expect(everything).not.toContain("EAA");
  if (vendorText) expect(everything).not.toContain(vendorText);
}

describe("sendWhatsAppCode: the request", () => {
  it("posts the authentication template exactly as the Cloud API takes it, and answers with the wamid", async () => {
    whatsapp.respond(sent("wamid.ABC123"));
    expect(await sendWhatsAppCode(options())).toEqual({ messageId: "wamid.ABC123" });
    expect(whatsapp.requests).toHaveLength(1);
    const [request] = whatsapp.requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe(`${WHATSAPP_FAKE_URL}/v25.0/106540352242922/messages`);
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.body).toStrictEqual({
      messaging_product: "whatsapp",
      recipient_type: "individual",
      to: "919876543210",
      type: "template",
      template: {
        name: "verification_code",
        language: { code: "en_US" },
        components: [
          { type: "body", parameters: [{ type: "text", text: "482913" }] },
          { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "482913" }] },
        ],
      },
    });
  });

  it("adds biz_opaque_callback_data when given, and accepts a base URL with a trailing slash", async () => {
    await sendWhatsAppCode(options({ baseUrl: `${WHATSAPP_FAKE_URL}/`, callbackData: "otp-7f3a" }));
    const [request] = whatsapp.requests;
    expect(request?.url).toBe(`${WHATSAPP_FAKE_URL}/v25.0/106540352242922/messages`);
    expect(request?.body).toMatchObject({ biz_opaque_callback_data: "otp-7f3a" });
  });

  it("sends a number already without '+' unchanged", async () => {
    await sendWhatsAppCode(options({ to: "12015553931" }));
    expect(whatsapp.requests[0]?.body).toMatchObject({ to: "12015553931" });
  });

  it("uses the fetch it is given instead of the global one", async () => {
    const seen: string[] = [];
    const result = await sendWhatsAppCode(
      options({
        fetch: async (input) => {
          seen.push(String(input instanceof Request ? input.url : input));
          return new Response(JSON.stringify({ messages: [{ id: "wamid.own" }] }), { status: 200 });
        },
      }),
    );
    expect(result).toEqual({ messageId: "wamid.own" });
    expect(seen).toEqual([`${WHATSAPP_FAKE_URL}/v25.0/106540352242922/messages`]);
    expect(whatsapp.requests).toHaveLength(0);
  });

  it.each([
    [{ to: "9876543210x" }, "refused"],
    [{ to: "+0123" }, "refused"],
    [{ code: "" }, "refused"],
    [{ code: "1234567890123456" }, "refused"],
    [{ callbackData: "x".repeat(513) }, "refused"],
    [{ accessToken: "" }, "misconfigured"],
    [{ phoneNumberId: "../me" }, "misconfigured"],
    [{ templateName: "" }, "misconfigured"],
  ] as [Partial<WhatsAppSendOptions>, WhatsAppFailureKind][])("sends nothing with %j", async (overrides, kind) => {
    const err = await failure(options(overrides));
    expect(err.kind).toBe(kind);
    expect(err.retryable).toBe(false);
    expect(whatsapp.requests).toHaveLength(0);
  });

  it("names the empty setting", async () => {
    const err = await failure(options({ accessToken: "", templateName: "" }));
    expect(err.settings).toEqual(["WHATSAPP_ACCESS_TOKEN", "WHATSAPP_TEMPLATE_NAME"]);
  });

  it("takes a 15-character code and 512 characters of callback data", async () => {
    await sendWhatsAppCode(options({ code: "123456789012345", callbackData: "y".repeat(512) }));
    expect(whatsapp.requests).toHaveLength(1);
  });
});

describe("sendWhatsAppCode: failures", () => {
  it.each([
    [131026, 400],
    [131047, 400],
    [131049, 400],
  ])("Graph error %i is recipient_unreachable: fall back to SMS, do not retry", async (code, status) => {
    whatsapp.respond(graphError(status, code, `(#${code}) Message undeliverable`, { error_subcode: 2494010 }));
    const err = await failure();
    expect(err).toMatchObject({
      kind: "recipient_unreachable",
      retryable: false,
      code,
      httpStatus: status,
      subcode: 2494010,
    });
    expect(err.fbtraceId).toBe("Az8or2yhqkZfEZ-_4Qn_Bam");
    expectNoSecret(err, "Message undeliverable");
  });

  it.each([
    [132001, 404, ["WHATSAPP_TEMPLATE_NAME", "WHATSAPP_TEMPLATE_LANGUAGE"]],
    [132015, 400, ["WHATSAPP_TEMPLATE_NAME"]],
    [132016, 400, ["WHATSAPP_TEMPLATE_NAME"]],
    [190, 401, ["WHATSAPP_ACCESS_TOKEN"]],
  ])("Graph error %i is misconfigured, naming the setting to check", async (code, status, settings) => {
    whatsapp.respond(graphError(status, code, `(#${code}) Error validating access token ${TOKEN}`));
    const err = await failure();
    expect(err).toMatchObject({ kind: "misconfigured", retryable: false, code, httpStatus: status });
    expect(err.settings).toEqual(settings);
    for (const s of settings) expect(err.message).toContain(s);
    expectNoSecret(err, "Error validating");
  });

  it("a 401 without a Graph error still points at the access token", async () => {
    whatsapp.respond({ status: 401, body: "" });
    const err = await failure();
    expect(err).toMatchObject({ kind: "misconfigured", settings: ["WHATSAPP_ACCESS_TOKEN"], httpStatus: 401 });
  });

  it.each([
    [130429, true],
    [131056, true],
    [132000, false],
    [132012, false],
    [100, false],
    [131000, true],
  ])("Graph error %i after a 4xx is refused (retryable: %s)", async (code, retryable) => {
    whatsapp.respond(graphError(400, code));
    const err = await failure();
    expect(err).toMatchObject({ kind: "refused", retryable, code, httpStatus: 400 });
    expectNoSecret(err);
  });

  it.each([
    ["a 4xx without a body", { status: 404, body: "" }],
    ["a 4xx with HTML", { status: 403, body: "<html>forbidden</html>" }],
    ["a redirect", { status: 302, body: "" }],
  ])("%s is refused: nothing was sent", async (_, reply) => {
    whatsapp.respond(reply);
    const err = await failure();
    expect(err.kind).toBe("refused");
    expect(err.httpStatus).toBe(reply.status);
  });

  it("a 429 without a Graph error is refused but worth a retry", async () => {
    whatsapp.respond({ status: 429, body: "slow down" });
    expect(await failure()).toMatchObject({ kind: "refused", retryable: true });
  });

  it.each([
    ["a 5xx with a Graph error", graphError(500, 131000)],
    ["a 503 with HTML", { status: 503, body: "<html>unavailable</html>" }],
    ["a 2xx that is not JSON", { status: 200, body: "ok" }],
    [
      "a 2xx without a message id",
      { status: 200, body: JSON.stringify({ messaging_product: "whatsapp", messages: [] }) },
    ],
    ["a 2xx with an empty id", { status: 200, body: JSON.stringify({ messages: [{ id: "" }] }) }],
    ["a 2xx that is a JSON array", { status: 200, body: "[]" }],
  ])("%s is unknown: the message may have gone out", async (_, reply) => {
    whatsapp.respond(reply);
    const err = await failure();
    expect(err).toMatchObject({ kind: "unknown", retryable: true, httpStatus: reply.status });
    expectNoSecret(err);
  });

  it("no answer within the deadline is unknown", async () => {
    whatsapp.respond({ hang: true });
    const started = Date.now();
    const err = await failure(options({ timeoutMs: 50 }));
    expect(err).toMatchObject({ kind: "unknown", retryable: true });
    expect(err.message).toContain("no answer within 50 ms");
    expect(Date.now() - started).toBeLessThan(900);
    expectNoSecret(err);
  });

  it("a lost connection is unknown", async () => {
    whatsapp.respond({ network: true });
    const err = await failure();
    expect(err.kind).toBe("unknown");
    expect(err.message).toContain("network error");
    expectNoSecret(err);
  });

  it("keeps a trace id only when it looks like one", async () => {
    whatsapp.respond(graphError(400, 100, "x", { fbtrace_id: `${"z".repeat(80)} ${TOKEN}` }));
    const err = await failure();
    expect(err.fbtraceId).toBeUndefined();
    expectNoSecret(err);
  });
});
