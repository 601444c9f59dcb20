import { exports } from "cloudflare:workers";
import { hc } from "hono/client";
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import type { AppType } from "../../src/app-type";
import { FakeFast2Sms } from "../helpers/fake-fast2sms";
import { uniquePhone } from "../helpers/api";

const fast2sms = new FakeFast2Sms();
beforeEach(() => fast2sms.install());
afterEach(() => vi.restoreAllMocks());

/** The README's typed-client example, against the Worker's own fetch handler instead of the network. */
const client = hc<AppType>("http://localhost", {
  fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
});

describe("hc<AppType>() from hono/client", () => {
  it("sends and verifies with typed requests and typed answers", async () => {
    const phone = uniquePhone();
    const sent = await client["send-otp"].$post({ json: { phone } });
    expect(sent.status).toBe(200);
    if (sent.status !== 200) return;
    const sentBody = await sent.json();
    expectTypeOf(sentBody.resend_after).toEqualTypeOf<number>();
    expect(sentBody).toEqual({ message: "OTP sent successfully", phone, expires_in: 300, resend_after: 30 });

    const verified = await client["verify-otp"].$post({ json: { phone, otp: fast2sms.lastCode() } });
    expect(verified.status).toBe(200);
    if (verified.status !== 200) return;
    const token = await verified.json();
    expectTypeOf(token.token_type).toEqualTypeOf<"Bearer">();
    expect(token.access_token.split(".")).toHaveLength(3);
  });

  it("types the body, so a wrong field does not compile", async () => {
    // @ts-expect-error: "number" is not a field of POST /send-otp (checked by `npm run typecheck`)
    const res = await client["send-otp"].$post({ json: { number: "+919876543210" } });
    expect(res.status).toBe(400);
  });

  it("reaches the other routes", async () => {
    const health = await client.health.$get();
    expect(await health.json()).toMatchObject({ status: "ok" });
    const jwks = await client[".well-known"]["jwks.json"].$get();
    expect(jwks.status).toBe(200);
  });
});
