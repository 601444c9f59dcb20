#!/usr/bin/env node
import { randomBytes } from "node:crypto";
// `npm run keygen [-- --alg EdDSA|ES256|RS256] [--json]`: a fresh signing key pair as JWKs,
// ready for `wrangler secret put JWT_PRIVATE_KEY` (private) and JWT_PREVIOUS_PUBLIC_KEYS (public).
// No openssl needed. See docs/tokens.md, "Key rotation".
import { exportJWK, generateKeyPair } from "jose";

const ALGS = ["EdDSA", "ES256", "RS256"];
const args = process.argv.slice(2);
const algIndex = args.indexOf("--alg");
const alg = algIndex >= 0 ? args[algIndex + 1] : "EdDSA";
if (!ALGS.includes(alg)) {
  console.error(`--alg must be one of ${ALGS.join(", ")}`);
  process.exit(2);
}

const { privateKey, publicKey } = await generateKeyPair(alg, {
  extractable: true,
  ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}),
  ...(alg === "RS256" ? { modulusLength: 2048 } : {}),
});
const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`;
const meta = { kid, alg, use: "sig" };
const privateJwk = { ...(await exportJWK(privateKey)), ...meta };
const publicJwk = { ...(await exportJWK(publicKey)), ...meta };

if (args.includes("--json")) {
  process.stdout.write(`${JSON.stringify({ privateJwk, publicJwk })}\n`);
} else {
  process.stdout.write(
    [
      `# New ${alg} signing key, kid ${kid}`,
      "",
      "# Private key: the value for `npx wrangler secret put JWT_PRIVATE_KEY` (keep it secret):",
      JSON.stringify(privateJwk),
      "",
      "# Public key: goes into the JWT_PREVIOUS_PUBLIC_KEYS array when publishing ahead of a rotation:",
      JSON.stringify(publicJwk),
      "",
    ].join("\n"),
  );
}
