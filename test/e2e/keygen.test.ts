import { execFileSync } from "node:child_process";
import { importJWK, type JWK, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"];

describe("npm run keygen", () => {
  it.each(["EdDSA", "ES256", "RS256"])("prints a %s key pair that round-trips", async (alg) => {
    const out = execFileSync(process.execPath, ["scripts/keygen.mjs", "--alg", alg, "--json"], { encoding: "utf8" });
    const { privateJwk, publicJwk } = JSON.parse(out) as { privateJwk: JWK; publicJwk: JWK };
    expect(privateJwk).toMatchObject({
      alg,
      use: "sig",
      kid: expect.stringMatching(/^\d{4}-\d{2}-\d{2}-[0-9a-f]{8}$/),
    });
    expect(publicJwk.kid).toBe(privateJwk.kid);
    for (const m of PRIVATE_MEMBERS) expect(publicJwk).not.toHaveProperty(m);

    const token = await new SignJWT({ phone_number: "+919876543210" })
      .setProtectedHeader({ alg, kid: privateJwk.kid })
      .setExpirationTime("5m")
      .sign(await importJWK(privateJwk, alg));
    const { payload } = await jwtVerify(token, await importJWK(publicJwk, alg), { algorithms: [alg] });
    expect(payload.phone_number).toBe("+919876543210");
  });

  it("prints the human form with both keys by default", () => {
    const out = execFileSync(process.execPath, ["scripts/keygen.mjs"], { encoding: "utf8" });
    expect(out).toMatch(/wrangler secret put JWT_PRIVATE_KEY/);
    const jsonLines = out.split("\n").filter((l) => l.startsWith("{"));
    expect(jsonLines).toHaveLength(2);
    expect(JSON.parse(jsonLines[0]!)).toHaveProperty("d");
    expect(JSON.parse(jsonLines[1]!)).not.toHaveProperty("d");
  });

  it("refuses an unsupported algorithm", () => {
    expect(() => execFileSync(process.execPath, ["scripts/keygen.mjs", "--alg", "HS256"], { stdio: "pipe" })).toThrow();
  });
});
