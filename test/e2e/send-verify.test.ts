import { jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeFast2Sms } from "../../scripts/lib/fake-fast2sms-server.ts";
import { type DevServer, startWranglerDev } from "../../scripts/lib/wrangler-dev.ts";

const JWT_SECRET = "e2e-jwt-secret-0123456789abcdef0123456789";
let fast2sms: Awaited<ReturnType<typeof startFakeFast2Sms>>;
let dev: DevServer;

beforeAll(async () => {
  fast2sms = await startFakeFast2Sms();
  dev = await startWranglerDev({
    SMS_PROVIDER: "fast2sms",
    FAST2SMS_BASE_URL: fast2sms.url,
    FAST2SMS_API_KEY: "e2e-fast2sms-key",
    JWT_SECRET,
    OTP_HASH_SECRET: "e2e-otp-hash-secret-0123456789abcdef012345",
  });
});

afterAll(async () => {
  await dev?.stop();
  await fast2sms?.close();
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${dev.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    body: (await res.json()) as Record<string, unknown>,
  };
};

describe("real wrangler dev + fake Fast2SMS over HTTP", () => {
  it("sends a code through Fast2SMS, refuses a wrong one and exchanges the right one for a token", async () => {
    const sent = await post("/send-otp", { phone: "098765 43210" });
    expect(sent).toMatchObject({ status: 200, body: { phone: "+919876543210", expires_in: 300, resend_after: 30 } });
    const verification_id = sent.body.verification_id as string;
    expect(verification_id).toMatch(/^[A-Za-z0-9_-]{38}$/);

    expect(fast2sms.received).toHaveLength(1);
    const sms = fast2sms.received[0]!;
    expect(sms.authorization).toBe("e2e-fast2sms-key");
    expect(sms.body).toEqual({
      route: "otp",
      variables_values: expect.stringMatching(/^\d{6}$/),
      numbers: "9876543210",
    });
    const code = sms.body.variables_values!;

    const wrongCode = code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));
    const wrong = await post("/verify-otp", { phone: "+919876543210", otp: wrongCode, verification_id });
    expect(wrong).toMatchObject({
      status: 400,
      type: "application/problem+json",
      body: { code: "otp_invalid", attempts_left: 4 },
    });

    const ok = await post("/verify-otp", { phone: "+91 98765 43210", otp: code, verification_id });
    expect(ok).toMatchObject({ status: 200, body: { status: "success", token_type: "Bearer" } });
    const { payload } = await jwtVerify(ok.body.access_token as string, new TextEncoder().encode(JWT_SECRET), {
      algorithms: ["HS256"],
      issuer: "phone-otp",
      audience: "phone-otp-app",
    });
    expect(payload.sub).toBe("+919876543210");

    const replay = await post("/verify-otp", { phone: "+919876543210", otp: code, verification_id });
    expect(replay).toMatchObject({ status: 404, body: { code: "otp_not_found" } });

    expect(dev.output()).not.toContain(code);
    expect(dev.output()).not.toContain("e2e-fast2sms-key");
  });

  it("keeps the session through refreshes (one racing, one retried), lists it, and ends it on logout", async () => {
    const phone = "+919812345670";
    const sent = await post("/send-otp", { phone });
    expect(sent.status).toBe(200);
    const code = fast2sms.received.at(-1)!.body.variables_values!;
    const verified = await post("/verify-otp", { phone, otp: code, verification_id: sent.body.verification_id });
    expect(verified.status).toBe(200);
    const first = verified.body.refresh_token as string;

    const race = await Promise.all([1, 2, 3].map(() => post("/token/refresh", { refresh_token: first })));
    expect(race.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(race.map((r) => r.body.refresh_token)).size).toBe(1);
    const second = race[0]!.body.refresh_token as string;
    const access = race[0]!.body.access_token as string;

    const list = await fetch(`${dev.url}/sessions`, { headers: { authorization: `Bearer ${access}` } });
    const sessions = ((await list.json()) as { sessions: { current: boolean }[] }).sessions;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.current).toBe(true);

    const out = await fetch(`${dev.url}/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: second }),
    });
    expect(out.status).toBe(204);
    expect(await post("/token/refresh", { refresh_token: second })).toMatchObject({
      status: 401,
      body: { code: "invalid_refresh_token" },
    });

    for (const secret of [first, second, access, first.split(".").at(-1)!, second.split(".").at(-1)!]) {
      expect(dev.output()).not.toContain(secret);
    }
  });
});
