import { decodeProtectedHeader, exportPKCS8, generateKeyPair, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { FIREBASE_AUDIENCE } from "../../src/domain/tokens/sign-firebase-token";
import { callWith, uniquePhone } from "../helpers/api";
import { expectProblem } from "../helpers/problem";
import { setUpWorkerTest } from "../helpers/setup";
import { signIn } from "../helpers/sign-in";

const fast2sms = setUpWorkerTest();

const CLIENT_EMAIL = "firebase-adminsdk-abc12@shop-app-demo.iam.gserviceaccount.com";

/** A service-account file as the Firebase console downloads it, with a key made here. */
async function serviceAccount() {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const json = {
    type: "service_account",
    project_id: "shop-app-demo",
    private_key_id: "0123456789abcdef",
    private_key: await exportPKCS8(privateKey),
    client_email: CLIENT_EMAIL,
    client_id: "123456789012345678901",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: "https://oauth2.googleapis.com/token",
  };
  return { json: JSON.stringify(json), publicKey };
}

describe("Firebase custom token", () => {
  it("is returned with exactly the documented header and claims, signed by the service account", async () => {
    const account = await serviceAccount();
    const { phone, verified } = await signIn(fast2sms, { FIREBASE_SERVICE_ACCOUNT: account.json });
    expect(verified.status).toBe(200);
    const token = verified.body.firebase_token as string;
    expect(typeof token).toBe("string");

    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", typ: "JWT" });
    const { payload } = await jwtVerify(token, account.publicKey, {
      algorithms: ["RS256"],
      issuer: CLIENT_EMAIL,
      subject: CLIENT_EMAIL,
      audience: FIREBASE_AUDIENCE,
    });
    expect(Object.keys(payload).sort()).toEqual(["aud", "claims", "exp", "iat", "iss", "sub", "uid"]);
    expect(payload).toEqual({
      aud: "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit",
      iss: CLIENT_EMAIL,
      sub: CLIENT_EMAIL,
      uid: phone,
      claims: { phone_number: phone },
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(60);
  });

  it("is absent without FIREBASE_SERVICE_ACCOUNT", async () => {
    const { verified } = await signIn(fast2sms, {});
    expect(verified.status).toBe(200);
    expect(verified.body).not.toHaveProperty("firebase_token");
  });

  it.each([
    ["not JSON", '{"type": "service_account",'],
    ["without a private key", JSON.stringify({ client_email: CLIENT_EMAIL })],
    [
      "with a key that does not import",
      JSON.stringify({
        client_email: CLIENT_EMAIL,
        private_key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      }),
    ],
  ])("a service account %s is misconfigured, found before any SMS is sent", async (_, json) => {
    const res = await callWith({ FIREBASE_SERVICE_ACCOUNT: json }, "/send-otp", { json: { phone: uniquePhone() } });
    expectProblem(res, 500, "misconfigured");
    expect(res.body.detail).toContain("FIREBASE_SERVICE_ACCOUNT");
    expect(fast2sms.requests).toHaveLength(0);
  });
});
