import { exports } from "cloudflare:workers";
import { hc } from "hono/client";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { AppType, Problem } from "../../src/app-type";
import { uniquePhone } from "../helpers/api";
import { setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

/** The README's typed-client example, against the Worker's own fetch handler instead of the network. */
const otp = hc<AppType>("http://localhost", {
  fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
});

/** The README's example, as a function of the number and a way to get the code. */
async function signIn(phone: string, readCode: () => string) {
  const sent = await otp["send-otp"].$post({ json: { phone } });
  if (!sent.ok) throw new Error(((await sent.json()) as unknown as Problem).detail);
  const { verification_id, resend_after } = await sent.json(); // string, number
  expectTypeOf(verification_id).toEqualTypeOf<string>();
  expectTypeOf(resend_after).toEqualTypeOf<number>();

  const verified = await otp["verify-otp"].$post({ json: { phone, otp: readCode(), verification_id } });
  if (!verified.ok) throw new Error(((await verified.json()) as unknown as Problem).detail);
  const { access_token, firebase_token } = await verified.json(); // string, string | undefined
  expectTypeOf(access_token).toEqualTypeOf<string>();
  expectTypeOf(firebase_token).toEqualTypeOf<string | undefined>();
  return { resend_after, access_token, firebase_token };
}

describe("hc<AppType>() from hono/client (the README's example)", () => {
  it("sends and verifies with typed requests and typed answers", async () => {
    const result = await signIn(uniquePhone(), () => fast2sms.lastCode());
    expect(result.resend_after).toBe(30);
    expect(result.access_token.split(".")).toHaveLength(3);
    expect(result.firebase_token).toBeUndefined();
  });

  it("turns an error into the problem's detail", async () => {
    await expect(signIn(uniquePhone(), () => "000000")).rejects.toThrow(/^The code is not correct\. 4 tries left/);
    await expect(signIn("12345", () => "000000")).rejects.toThrow(/not a valid mobile number/);
  });

  it("types the body, so a wrong field does not compile", async () => {
    // @ts-expect-error: "number" is not a field of POST /send-otp (checked by `npm run typecheck`)
    const res = await otp["send-otp"].$post({ json: { number: "+919876543210" } });
    expect(res.status).toBe(400);
  });

  it("reaches the other routes", async () => {
    const health = await otp.health.$get();
    expect(await health.json()).toMatchObject({ status: "ok" });
    const jwks = await otp[".well-known"]["jwks.json"].$get();
    expect(jwks.status).toBe(200);
  });
});
