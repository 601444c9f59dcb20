import { beforeEach, describe, expect, it } from "vitest";
import { type ApiResponse, envWith, uniquePhone, withEnv } from "../helpers/api";
import { FakeWhatsApp, graphError, sent, hubSignature as signedBy, WHATSAPP_FAKE_URL } from "../helpers/fake-whatsapp";
import { captureConsole, GATEWAY_KEYS } from "../helpers/log-capture";
import { expectProblem } from "../helpers/problem";
import { advance, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();
const whatsapp = new FakeWhatsApp();
beforeEach(() => whatsapp.install());

const TOKEN = "EAAtest-whatsapp-access-token-Zx81Qw7";
const APP_SECRET = "wa-app-secret-4f1c9e2b7a6d3085";
const VERIFY_TOKEN = "wa-verify-token-k3J9";
const ADMIN_TOKEN = "xxIT_SXoxRcrvsZPbU6_8zJoiPCmkzjympyjGpmaNUc";
const SECRETS = [TOKEN, APP_SECRET, VERIFY_TOKEN, ...GATEWAY_KEYS];

const WHATSAPP = {
  WHATSAPP_ACCESS_TOKEN: TOKEN,
  WHATSAPP_PHONE_NUMBER_ID: "106540352242922",
  WHATSAPP_TEMPLATE_NAME: "otp_login",
  WHATSAPP_TEMPLATE_LANGUAGE: "en_US",
  WHATSAPP_APP_SECRET: APP_SECRET,
  WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
  WHATSAPP_BASE_URL: WHATSAPP_FAKE_URL,
  WHATSAPP_TIMEOUT_MS: "1000",
};

/** One environment object, so calls share settings (and the circuit breakers). */
const main = envWith({ ...WHATSAPP, ADMIN_TOKEN });

/** A fresh wamid for each accepted send. */
const newWamid = () => `wamid.TEST${crypto.randomUUID().replaceAll("-", "")}`;
const accepted = () => sent(newWamid());

/** The fake accepts the following sends with this one id, which it returns. */
function respondAccepted(): string {
  const wamid = newWamid();
  whatsapp.respond(sent(wamid));
  return wamid;
}

const sendOn = (phone: string, channel: string, environment: Env = main) =>
  withEnv(environment, "/send-otp", { json: { phone, channel } });

const status = (phone: string, id: string) =>
  withEnv(main, "/verification-status", { json: { phone, verification_id: id } });

const hubSignature = (body: string, secret = APP_SECRET) => signedBy(body, secret);

type Status = { id: string; status: string; recipient_id: string; errors?: { code: number }[] };

function statusBody(statuses: Status[]): string {
  return JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "WABA_ID",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: "15550783881", phone_number_id: WHATSAPP.WHATSAPP_PHONE_NUMBER_ID },
              statuses: statuses.map((s) => ({ timestamp: String(Math.floor(Date.now() / 1000)), ...s })),
            },
          },
        ],
      },
    ],
  });
}

async function postStatuses(body: string, signature?: string | null, environment: Env = main): Promise<ApiResponse> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const sig = signature === undefined ? await hubSignature(body) : signature;
  if (sig !== null) headers["x-hub-signature-256"] = sig;
  return withEnv(environment, "/webhooks/whatsapp", { method: "POST", body, headers });
}

const adminView = (phone: string) =>
  withEnv(main, `/admin/numbers/${encodeURIComponent(phone)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

describe("sending on WhatsApp", () => {
  it("sends the authentication template with the code in the body and the button, and says it went on whatsapp", async () => {
    const phone = uniquePhone();
    respondAccepted();
    const res = await sendOn(phone, "whatsapp");
    expect(res.status).toBe(200);
    expect(res.body.channel).toBe("whatsapp");
    expect(fast2sms.requests).toHaveLength(0);
    expect(whatsapp.requests).toHaveLength(1);
    const request = whatsapp.requests[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe(`${WHATSAPP_FAKE_URL}/v25.0/106540352242922/messages`);
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const body = request.body as { template: { components: { parameters: { text: string }[] }[] } };
    const code = body.template.components[0]!.parameters[0]!.text;
    expect(code).toMatch(/^\d{6}$/);
    expect(request.body).toEqual({
      messaging_product: "whatsapp",
      recipient_type: "individual",
      to: phone.slice(1),
      type: "template",
      template: {
        name: "otp_login",
        language: { code: "en_US" },
        components: [
          { type: "body", parameters: [{ type: "text", text: code }] },
          { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: code }] },
        ],
      },
    });
    // The code it carried verifies.
    const verified = await withEnv(main, "/verify-otp", {
      json: { phone, otp: code, verification_id: res.body.verification_id },
    });
    expect(verified.status).toBe(200);
  });

  it("every send's answer names its channel", async () => {
    const res = await sendOn(uniquePhone(), "sms");
    expect(res.status).toBe(200);
    expect(res.body.channel).toBe("sms");
    expect(whatsapp.requests).toHaveLength(0);
    const plain = await withEnv(main, "/send-otp", { json: { phone: uniquePhone() } });
    expect(plain.body.channel).toBe("sms");
  });

  it("without the WhatsApp settings, whatsapp is 400 channel_not_available and nothing is counted", async () => {
    const phone = uniquePhone();
    const plain = envWith({});
    expectProblem(await sendOn(phone, "whatsapp", plain), 400, "channel_not_available");
    expect(whatsapp.requests).toHaveLength(0);
    expect(fast2sms.requests).toHaveLength(0);
    // No cooldown was taken: an SMS to the number goes out at once.
    const sms = await sendOn(phone, "sms", plain);
    expect(sms.status).toBe(200);
    expect(sms.body.channel).toBe("sms");
  });

  it("a partial set of WhatsApp settings is a settings error naming what is missing, never a value", async () => {
    const partial = envWith({ WHATSAPP_ACCESS_TOKEN: TOKEN, WHATSAPP_TEMPLATE_NAME: "otp_login" });
    const res = await sendOn(uniquePhone(), "sms", partial);
    expectProblem(res, 500, "misconfigured");
    expect(String(res.body.detail)).toContain("WHATSAPP_PHONE_NUMBER_ID");
    expect(String(res.body.detail)).not.toContain("WHATSAPP_TEMPLATE_NAME");
    expect(JSON.stringify(res.body)).not.toContain(TOKEN);
  });

  const fallbacks: [string, number, number][] = [
    ["recipient_unreachable 131026", 400, 131026],
    ["recipient_unreachable 131049", 400, 131049],
    ["recipient_unreachable 131047", 400, 131047],
    ["misconfigured 132001", 404, 132001],
    ["misconfigured 132015", 400, 132015],
    ["misconfigured 132016", 400, 132016],
    ["misconfigured 190", 401, 190],
  ];
  for (const [name, httpStatus, code] of fallbacks) {
    it(`${name}: falls back to SMS within the request with the same code`, async () => {
      const log = captureConsole();
      const environment = envWith(WHATSAPP); // its own breakers
      const phone = uniquePhone();
      whatsapp.respond(graphError(httpStatus, code));
      const res = await sendOn(phone, "whatsapp", environment);
      expect(res.status).toBe(200);
      expect(res.body.channel).toBe("sms");
      expect(whatsapp.requests).toHaveLength(1);
      expect(fast2sms.requests).toHaveLength(1);
      const waCode = (whatsapp.requests[0]!.body as { template: { components: { parameters: { text: string }[] }[] } })
        .template.components[0]!.parameters[0]!.text;
      expect(fast2sms.lastCode()).toBe(waCode);
      expect(log.events("sms.sent")[0]).toMatchObject({
        gateway: "fast2sms",
        channel: "sms",
        failed_over_from: ["whatsapp"],
      });
      const misconfigured = log.events("whatsapp.misconfigured");
      if (name.startsWith("misconfigured")) {
        expect(misconfigured).toHaveLength(1);
        expect(misconfigured[0]!.check).toEqual(
          code === 190 ? ["WHATSAPP_ACCESS_TOKEN"] : expect.arrayContaining(["WHATSAPP_TEMPLATE_NAME"]),
        );
        expect(misconfigured[0]!.provider_code).toBe(code);
      } else {
        expect(misconfigured).toHaveLength(0);
      }
      // One send for the number's limits: a second at once is the cooldown.
      expectProblem(await sendOn(phone, "whatsapp", environment), 429, "rate_limited");
      for (const line of log.raw) for (const secret of SECRETS) expect(line).not.toContain(secret);
      for (const line of log.raw) expect(line).not.toContain(waCode);
    });
  }

  it("too many messages to this person (131056) stops the send: an SMS would get round WhatsApp's check", async () => {
    const environment = envWith(WHATSAPP);
    const phone = uniquePhone();
    whatsapp.respond(graphError(400, 131056));
    const res = await sendOn(phone, "whatsapp", environment);
    expectProblem(res, 502, "sms_failed");
    expect(whatsapp.requests).toHaveLength(1);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("an unknown outcome (a 5xx) goes on to SMS like an SMS gateway's, with the same code", async () => {
    const environment = envWith(WHATSAPP);
    const phone = uniquePhone();
    whatsapp.respond(graphError(500, 131000));
    const res = await sendOn(phone, "whatsapp", environment);
    expect(res.status).toBe(200);
    expect(res.body.channel).toBe("sms");
    const waCode = (whatsapp.requests[0]!.body as { template: { components: { parameters: { text: string }[] }[] } })
      .template.components[0]!.parameters[0]!.text;
    expect(fast2sms.lastCode()).toBe(waCode);
  });

  it("when WhatsApp and then SMS fail, the send fails and gives back what it took (nothing half-done)", async () => {
    const environment = envWith(WHATSAPP);
    const phone = uniquePhone();
    whatsapp.respond(graphError(400, 131026));
    fast2sms.respond({ status: 400, body: JSON.stringify({ return: false, status_code: 411, message: "Invalid" }) });
    const res = await sendOn(phone, "whatsapp", environment);
    expectProblem(res, 502, "sms_failed");
    fast2sms.respond({ status: 200, body: JSON.stringify({ return: true, request_id: "r-1", message: ["sent"] }) });
    // Nothing stayed counted: the next send goes out at once.
    whatsapp.respond(accepted());
    const again = await sendOn(phone, "whatsapp", environment);
    expect(again.status).toBe(200);
  });
});

describe("the WhatsApp webhook's handshake", () => {
  const hub = (mode: string, token: string, challenge = "challenge-1158201444") =>
    `/webhooks/whatsapp?${new URLSearchParams({ "hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge })}`;

  it("the right verify token answers the challenge as plain text", async () => {
    const res = await withEnv(main, hub("subscribe", VERIFY_TOKEN));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.body).toEqual({ raw: "challenge-1158201444" });
  });

  it("a wrong token or mode is 403", async () => {
    expectProblem(await withEnv(main, hub("subscribe", "wrong-token")), 403, "webhook_verification_failed");
    expectProblem(await withEnv(main, hub("unsubscribe", VERIFY_TOKEN)), 403, "webhook_verification_failed");
    expectProblem(await withEnv(main, "/webhooks/whatsapp"), 403, "webhook_verification_failed");
  });

  it("without the WhatsApp settings the webhook is 404", async () => {
    expectProblem(await withEnv(envWith({}), hub("subscribe", VERIFY_TOKEN)), 404, "not_found");
    expectProblem(await postStatuses(statusBody([]), undefined, envWith({})), 404, "not_found");
  });
});

describe("WhatsApp's message statuses", () => {
  async function sendWhatsApp(phone: string): Promise<{ id: string; wamid: string }> {
    const wamid = respondAccepted();
    const res = await sendOn(phone, "whatsapp");
    expect(res.body.channel).toBe("whatsapp");
    return { id: String(res.body.verification_id), wamid };
  }

  it("delivered marks the message delivered, in /verification-status and the admin view", async () => {
    const phone = uniquePhone();
    const { id, wamid } = await sendWhatsApp(phone);
    expect((await status(phone, id)).body).toMatchObject({
      status: "pending",
      channel: "whatsapp",
      messages: [{ channel: "whatsapp", status: "pending" }],
    });
    const res = await postStatuses(statusBody([{ id: wamid, status: "delivered", recipient_id: phone.slice(1) }]));
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: {} });
    expect((await status(phone, id)).body).toMatchObject({
      status: "delivered",
      channel: "whatsapp",
      messages: [{ channel: "whatsapp", status: "delivered", delivered_at: expect.any(String) }],
    });
    const view = await adminView(phone);
    expect(view.body.deliveries).toEqual([
      expect.objectContaining({ channel: "whatsapp", gateway: "whatsapp", status: "delivered" }),
    ]);
  });

  it("read counts as delivered, and failed keeps Meta's error code as the reason", async () => {
    const [a, b] = [uniquePhone(), uniquePhone()];
    const sa = await sendWhatsApp(a);
    const sb = await sendWhatsApp(b);
    await postStatuses(statusBody([{ id: sa.wamid, status: "read", recipient_id: a.slice(1) }]));
    await postStatuses(
      statusBody([{ id: sb.wamid, status: "failed", recipient_id: b.slice(1), errors: [{ code: 131049 }] }]),
    );
    expect((await status(a, sa.id)).body.status).toBe("delivered");
    expect((await status(b, sb.id)).body).toMatchObject({ status: "failed", messages: [{ status: "failed" }] });
    expect(JSON.stringify((await status(b, sb.id)).body)).not.toContain("131049");
    const view = await adminView(b);
    expect(view.body.deliveries).toEqual([
      expect.objectContaining({ channel: "whatsapp", gateway: "whatsapp", status: "failed", reason: "131049" }),
    ]);
  });

  it("sent changes nothing; several statuses in one post reach each number", async () => {
    const [a, b] = [uniquePhone(), uniquePhone()];
    const sa = await sendWhatsApp(a);
    const sb = await sendWhatsApp(b);
    await postStatuses(statusBody([{ id: sa.wamid, status: "sent", recipient_id: a.slice(1) }]));
    expect((await status(a, sa.id)).body.status).toBe("pending");
    const res = await postStatuses(
      statusBody([
        { id: sa.wamid, status: "sent", recipient_id: a.slice(1) },
        { id: sa.wamid, status: "delivered", recipient_id: a.slice(1) },
        { id: sb.wamid, status: "failed", recipient_id: b.slice(1), errors: [{ code: 131026 }] },
      ]),
    );
    expect(res.status).toBe(200);
    expect((await status(a, sa.id)).body.status).toBe("delivered");
    expect((await status(b, sb.id)).body.status).toBe("failed");
  });

  it("an unknown id, or a known id under another number, answers 200 {} and changes nothing", async () => {
    const phone = uniquePhone();
    const { id, wamid } = await sendWhatsApp(phone);
    const unknown = await postStatuses(
      statusBody([{ id: "wamid.NO-SUCH-MESSAGE", status: "delivered", recipient_id: phone.slice(1) }]),
    );
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: 200, body: {} });
    const elsewhere = await postStatuses(
      statusBody([{ id: wamid, status: "delivered", recipient_id: uniquePhone().slice(1) }]),
    );
    expect({ status: elsewhere.status, body: elsewhere.body }).toEqual({ status: 200, body: {} });
    expect((await status(phone, id)).body.status).toBe("pending");
  });

  it("a bad or missing signature is 401 and changes nothing", async () => {
    const log = captureConsole();
    const phone = uniquePhone();
    const { id, wamid } = await sendWhatsApp(phone);
    const body = statusBody([{ id: wamid, status: "delivered", recipient_id: phone.slice(1) }]);
    const forged = [
      null,
      "",
      "sha256=",
      await hubSignature(body, "not-the-app-secret"),
      await hubSignature(`${body} `),
      (await hubSignature(body)).replace("sha256=", "sha1="),
      (await hubSignature(body)).slice(0, -1),
    ];
    for (const signature of forged)
      expectProblem(await postStatuses(body, signature), 401, "webhook_signature_invalid");
    expect((await status(phone, id)).body.status).toBe("pending");
    // The request log names the route's pattern, never the signature.
    const requests = log.events("request").filter((l) => String(l.path).startsWith("/webhooks"));
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) expect(r.path).toBe("/webhooks/whatsapp");
    const good = await hubSignature(body);
    for (const line of log.raw) {
      expect(line).not.toContain(good.slice(7));
      for (const secret of SECRETS) expect(line).not.toContain(secret);
    }
    // The same body, rightly signed, is accepted.
    expect((await postStatuses(body)).status).toBe(200);
    expect((await status(phone, id)).body.status).toBe("delivered");
  });

  it("no token or secret in any log line of a send, a handshake and a webhook", async () => {
    const log = captureConsole();
    const phone = uniquePhone();
    const { wamid } = await sendWhatsApp(phone);
    await withEnv(main, `/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`);
    await postStatuses(statusBody([{ id: wamid, status: "delivered", recipient_id: phone.slice(1) }]));
    expect(log.raw.length).toBeGreaterThan(0);
    for (const line of log.raw) {
      for (const secret of SECRETS) expect(line).not.toContain(secret);
      expect(line).not.toContain(phone);
    }
  });
});

describe("the sign-in page", () => {
  it('offers "Send on WhatsApp" only when WhatsApp is configured, under the same CSP', async () => {
    const withWhatsApp = await withEnv(main, "/");
    expect(withWhatsApp.status).toBe(200);
    expect(String(withWhatsApp.body.raw)).toContain('id="send-whatsapp"');
    const without = await withEnv(envWith({}), "/");
    expect(String(without.body.raw)).not.toContain('id="send-whatsapp"');
    // The one script is the same either way, so is its hash in the policy.
    expect(withWhatsApp.headers.get("content-security-policy")).toBe(without.headers.get("content-security-policy"));
    expect(withWhatsApp.headers.get("content-security-policy")).toMatch(/script-src 'sha256-/);
  });
});

describe("a test number on WhatsApp answers /verification-status like a real number", () => {
  it("with WhatsApp's webhook checkable and no DELIVERY_WEBHOOK_SECRET, its code shows delivered too", async () => {
    const testNumber = "+919999999998";
    const environment = envWith({ ...WHATSAPP, TEST_PHONE_NUMBERS: `${testNumber}:123456` });
    const sent = await sendOn(testNumber, "whatsapp", environment);
    expect(sent.status).toBe(200);
    expect(whatsapp.requests).toHaveLength(0);
    advance(3000);
    const res = await withEnv(environment, "/verification-status", {
      json: { phone: testNumber, verification_id: sent.body.verification_id },
    });
    expect(res.body).toMatchObject({ status: "delivered", messages: [{ channel: "whatsapp", status: "delivered" }] });
  });
});
