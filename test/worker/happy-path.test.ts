import { decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { sendOtp, uniquePhone, verifyOtp } from "../helpers/api";
import { FAKE_BASE_URL } from "../helpers/fake-fast2sms";
import { setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

describe("send → verify with Fast2SMS", () => {
  it("texts a 6-digit code through Fast2SMS and exchanges it for a signed token", async () => {
    const phone = uniquePhone();
    const national = phone.slice(3);
    const sent = await sendOtp(`+91 ${national.slice(0, 5)} ${national.slice(5)}`);
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({
      message: "OTP sent successfully",
      phone,
      verification_id: expect.stringMatching(/^[A-Za-z0-9_-]{38}$/),
      expires_in: 300,
      resend_after: 30,
      channel: "sms",
    });
    expect(sent.headers.get("cache-control")).toBe("no-store");

    expect(fast2sms.requests).toHaveLength(1);
    const [request] = fast2sms.requests;
    expect(request!.url).toBe(`${FAKE_BASE_URL}/dev/bulkV2`);
    expect(request!.method).toBe("POST");
    expect(request!.headers.authorization).toBe("test-fast2sms-key-7f3a");
    expect(request!.body).toEqual({
      route: "otp",
      variables_values: expect.stringMatching(/^\d{6}$/),
      numbers: national,
    });

    const verified = await verifyOtp(phone, fast2sms.lastCode(), sent.body.verification_id as string);
    expect(verified.status).toBe(200);
    expect(verified.headers.get("cache-control")).toBe("no-store");
    expect(verified.body).toMatchObject({
      message: "OTP verified successfully",
      status: "success",
      token_type: "Bearer",
      expires_in: 900,
      refresh_token: expect.stringMatching(/^rt2\./),
      refresh_expires_in: 2_592_000,
    });

    const token = verified.body.access_token as string;
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
    const { payload } = await jwtVerify(token, new TextEncoder().encode("test-jwt-secret-0123456789abcdef0123456789"), {
      algorithms: ["HS256"],
      issuer: "phone-otp",
      audience: "phone-otp-app",
    });
    expect(payload).toMatchObject({
      sub: phone,
      phone_number: phone,
      phone_number_verified: true,
      sid: expect.any(String),
    });
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });
});
