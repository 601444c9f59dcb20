import {
  base64url,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import { describe, expect, it } from "vitest";
import { createAccessTokenVerifier } from "../../src/verify";
import { callWith } from "../helpers/api";
import { expectProblem } from "../helpers/problem";
import { setUpWorkerTest } from "../helpers/setup";
import { signIn } from "../helpers/sign-in";

const fast2sms = setUpWorkerTest();

type Alg = "EdDSA" | "ES256" | "RS256";

async function keyPair(alg: Alg, kid: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}),
  });
  const meta = { kid, alg, use: "sig" };
  return {
    privateJwk: { ...(await exportJWK(privateKey)), ...meta },
    publicJwk: { ...(await exportJWK(publicKey)), ...meta },
  };
}

async function jwksOf(settings: Record<string, string | undefined>): Promise<JSONWebKeySet> {
  const res = await callWith(settings, "/.well-known/jwks.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("public, max-age=300");
  return res.body as unknown as JSONWebKeySet;
}

const ISSUER = "phone-otp";
const AUDIENCE = "phone-otp-app";
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

describe.each(["EdDSA", "ES256", "RS256"] as const)("access tokens signed with %s", (alg) => {
  it("carry the kid and verify against the published JWKS; the JWKS has no private members", async () => {
    const current = await keyPair(alg, `current-${alg}`);
    const retired = await keyPair(alg, `retired-${alg}`);
    const settings = {
      JWT_PRIVATE_KEY: JSON.stringify(current.privateJwk),
      JWT_PREVIOUS_PUBLIC_KEYS: JSON.stringify([retired.publicJwk]),
    };
    const { phone, verified } = await signIn(fast2sms, settings);
    expect(verified.status).toBe(200);
    const token = verified.body.access_token as string;
    expect(decodeProtectedHeader(token)).toEqual({ alg, typ: "JWT", kid: `current-${alg}` });

    const jwks = await jwksOf(settings);
    expect(jwks.keys.map((k) => k.kid)).toEqual([`current-${alg}`, `retired-${alg}`]);
    for (const key of jwks.keys) for (const m of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(m);

    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: [alg],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    expect(payload).toMatchObject({ sub: phone, phone_number: phone, phone_number_verified: true });

    // A token signed with the retired key before the rotation still verifies while it is published.
    const old = await new SignJWT({ phone_number: phone, phone_number_verified: true })
      .setProtectedHeader({ alg, typ: "JWT", kid: `retired-${alg}` })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(phone)
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(await importPrivate(retired.privateJwk, alg));
    const verify = createAccessTokenVerifier({ jwks, issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] });
    await expect(verify(old)).resolves.toMatchObject({ sub: phone });
    // ...and stops verifying once it is no longer published.
    const after = await jwksOf({ JWT_PRIVATE_KEY: settings.JWT_PRIVATE_KEY });
    const verifyAfter = createAccessTokenVerifier({
      jwks: after,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: [alg],
    });
    await expect(verifyAfter(old)).rejects.toMatchObject({ code: "invalid_token" });
    await expect(verifyAfter(token)).resolves.toMatchObject({ sub: phone });
  });
});

async function importPrivate(jwk: JWK, alg: Alg) {
  const { importJWK } = await import("jose");
  return importJWK(jwk, alg);
}

describe("the verification helper refuses", () => {
  it("tampered, wrong-audience, wrong-issuer, expired, alg:none and HS256-forged tokens", async () => {
    const current = await keyPair("ES256", "k1");
    const settings = { JWT_PRIVATE_KEY: JSON.stringify(current.privateJwk) };
    const { phone, verified } = await signIn(fast2sms, settings);
    const token = verified.body.access_token as string;
    const jwks = await jwksOf(settings);
    const verify = createAccessTokenVerifier({ jwks, issuer: ISSUER, audience: AUDIENCE, algorithms: ["ES256"] });
    await expect(verify(token)).resolves.toMatchObject({ sub: phone });

    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    const tampered = `${header}.${base64url.encode(JSON.stringify({ ...claims, sub: "+919999999999", phone_number: "+919999999999" }))}.${signature}`;

    const signer = await importPrivate(current.privateJwk, "ES256");
    const make = (mutate: (j: SignJWT) => SignJWT) =>
      mutate(
        new SignJWT({ phone_number: phone, phone_number_verified: true })
          .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: "k1" })
          .setSubject(phone)
          .setIssuedAt(),
      ).sign(signer);
    const wrongAudience = await make((j) => j.setIssuer(ISSUER).setAudience("someone-else").setExpirationTime("5m"));
    const wrongIssuer = await make((j) => j.setIssuer("evil").setAudience(AUDIENCE).setExpirationTime("5m"));
    const expired = await make((j) =>
      j
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 120),
    );
    const unsecured = new UnsecuredJWT({ phone_number: phone, phone_number_verified: true })
      .setSubject(phone)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .encode();
    // Algorithm confusion: HS256 with the public key as the HMAC secret.
    const forged = await new SignJWT({ phone_number: phone, phone_number_verified: true })
      .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: "k1" })
      .setSubject(phone)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(JSON.stringify(current.publicJwk)));

    for (const bad of [tampered, wrongAudience, wrongIssuer, expired, unsecured, forged]) {
      await expect(verify(bad)).rejects.toMatchObject({ code: "invalid_token" });
    }
  });

  it("options that would allow algorithm confusion", () => {
    const base = { issuer: ISSUER, audience: AUDIENCE };
    expect(() => createAccessTokenVerifier({ ...base, jwks: { keys: [] }, algorithms: ["HS256"] })).toThrow(TypeError);
    expect(() => createAccessTokenVerifier({ ...base, secret: "x".repeat(32), algorithms: ["ES256"] })).toThrow(
      TypeError,
    );
    expect(() => createAccessTokenVerifier({ ...base, jwks: { keys: [] }, algorithms: [] })).toThrow(TypeError);
    expect(() => createAccessTokenVerifier({ ...base, algorithms: ["ES256"] })).toThrow(TypeError);
  });

  it("a JWKS URL over plain http, where anyone on the path could hand it keys, except to this machine", () => {
    const base = { issuer: ISSUER, audience: AUDIENCE, algorithms: ["EdDSA"] as const };
    for (const jwksUrl of [
      "http://otp.example.com/.well-known/jwks.json",
      "ftp://otp.example.com/jwks",
      "http://localhost.example.com/jwks",
    ]) {
      expect(() => createAccessTokenVerifier({ ...base, jwksUrl })).toThrow(/https/);
    }
    for (const jwksUrl of [
      "https://otp.example.com/.well-known/jwks.json",
      "http://127.0.0.1:8787/.well-known/jwks.json",
      "http://localhost:8787/.well-known/jwks.json",
      new URL("http://[::1]:8787/jwks"),
    ]) {
      expect(() => createAccessTokenVerifier({ ...base, jwksUrl })).not.toThrow();
    }
  });

  it("accepts HS256 tokens only with the shared secret", async () => {
    const { verified } = await signIn(fast2sms, {});
    const token = verified.body.access_token as string;
    const verify = createAccessTokenVerifier({
      secret: "test-jwt-secret-0123456789abcdef0123456789",
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["HS256"],
    });
    await expect(verify(token)).resolves.toMatchObject({ phone_number_verified: true });
    expect((await jwksOf({})).keys).toEqual([]);
  });
});

describe("misconfigured keys name the setting", () => {
  const cases: [string, () => Promise<Record<string, string>>][] = [
    ["bad JSON", async () => ({ JWT_PRIVATE_KEY: "{not json" })],
    [
      "a public key where the private key belongs",
      async () => ({ JWT_PRIVATE_KEY: JSON.stringify((await keyPair("ES256", "a")).publicJwk) }),
    ],
    [
      "an unsupported alg",
      async () => ({ JWT_PRIVATE_KEY: JSON.stringify({ ...(await keyPair("ES256", "a")).privateJwk, alg: "ES384" }) }),
    ],
    [
      "no kid",
      async () => {
        const { kid: _kid, ...jwk } = (await keyPair("EdDSA", "a")).privateJwk;
        return { JWT_PRIVATE_KEY: JSON.stringify(jwk) };
      },
    ],
    [
      "an alg that does not match the key",
      async () => ({ JWT_PRIVATE_KEY: JSON.stringify({ ...(await keyPair("ES256", "a")).privateJwk, alg: "EdDSA" }) }),
    ],
    [
      "key material that does not import",
      async () => ({ JWT_PRIVATE_KEY: JSON.stringify({ ...(await keyPair("ES256", "a")).privateJwk, x: "AAAA" }) }),
    ],
  ];
  for (const [name, make] of cases) {
    it(`JWT_PRIVATE_KEY with ${name}`, async () => {
      const res = await callWith(await make(), "/.well-known/jwks.json");
      expectProblem(res, 500, "misconfigured");
      expect(res.body.detail).toContain("JWT_PRIVATE_KEY");
    });
  }

  it("JWT_PREVIOUS_PUBLIC_KEYS holding a private key", async () => {
    const pair = await keyPair("ES256", "old");
    const res = await callWith(
      { JWT_PREVIOUS_PUBLIC_KEYS: JSON.stringify([pair.privateJwk]) },
      "/.well-known/jwks.json",
    );
    expectProblem(res, 500, "misconfigured");
    expect(res.body.detail).toContain("JWT_PREVIOUS_PUBLIC_KEYS");
    expect(JSON.stringify(res.body)).not.toContain(pair.privateJwk.d!);
  });

  it("a kid reused for two different keys", async () => {
    const a = await keyPair("ES256", "same");
    const b = await keyPair("ES256", "same");
    const res = await callWith(
      { JWT_PRIVATE_KEY: JSON.stringify(a.privateJwk), JWT_PREVIOUS_PUBLIC_KEYS: JSON.stringify([b.publicJwk]) },
      "/.well-known/jwks.json",
    );
    expectProblem(res, 500, "misconfigured");
  });

  it("publishing the next key before it signs is allowed (rotation step 1 and 2)", async () => {
    const current = await keyPair("EdDSA", "cur");
    const next = await keyPair("EdDSA", "next");
    const step1 = await jwksOf({
      JWT_PRIVATE_KEY: JSON.stringify(current.privateJwk),
      JWT_PREVIOUS_PUBLIC_KEYS: JSON.stringify([current.publicJwk, next.publicJwk]),
    });
    expect(step1.keys.map((k) => k.kid)).toEqual(["cur", "next"]);
    const step2 = await jwksOf({
      JWT_PRIVATE_KEY: JSON.stringify(next.privateJwk),
      JWT_PREVIOUS_PUBLIC_KEYS: JSON.stringify([current.publicJwk, next.publicJwk]),
    });
    expect(step2.keys.map((k) => k.kid)).toEqual(["next", "cur"]);
  });

  it("without JWT_SECRET or JWT_PRIVATE_KEY nothing is sent", async () => {
    const res = await callWith({ JWT_SECRET: undefined }, "/send-otp", { json: { phone: "+919876543210" } });
    expectProblem(res, 500, "misconfigured");
    expect(res.body.detail).toContain("JWT_SECRET");
    expect(fast2sms.requests).toHaveLength(0);
  });
});
