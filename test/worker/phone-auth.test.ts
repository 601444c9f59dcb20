import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { type PhoneAuthVariables, phoneAuth } from "../../src/verify/hono";
import { setUpWorkerTest } from "../helpers/setup";
import { signIn } from "../helpers/sign-in";

const fast2sms = setUpWorkerTest();

/** Another service of the app, protected by the middleware. */
const orders = new Hono<{ Variables: PhoneAuthVariables }>()
  .use(
    phoneAuth({
      secret: "test-jwt-secret-0123456789abcdef0123456789",
      issuer: "phone-otp",
      audience: "phone-otp-app",
      algorithms: ["HS256"],
    }),
  )
  .get("/orders", (c) => c.json({ phone: c.get("phoneAuth").sub }));

describe("phoneAuth middleware", () => {
  it("lets a request with this service's token through and exposes the number", async () => {
    const { phone, verified } = await signIn(fast2sms, {});
    const res = await orders.request("/orders", { headers: { authorization: `Bearer ${verified.body.access_token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ phone });
  });

  it.each([
    // No Bearer credentials: the bare challenge (RFC 6750 section 3.1); a bad token: with its error code.
    ["no header", undefined, "Bearer"],
    ["another scheme", "Token abc", "Bearer"],
    ["a garbage token", "Bearer aaa.bbb.ccc", 'Bearer error="invalid_token"'],
  ])("refuses %s with 401 problem+json and a Bearer challenge", async (_, header, challenge) => {
    const res = await orders.request("/orders", { headers: header ? { authorization: header } : {} });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(challenge);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "invalid_token", status: 401 });
  });

  it("checks its options when it is made", () => {
    expect(() => phoneAuth({ issuer: "a", audience: "b", algorithms: ["EdDSA"] })).toThrow(TypeError);
  });
});
