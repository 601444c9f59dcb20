import * as z from "zod/mini";

/** Signing algorithms accepted for JWT_PRIVATE_KEY, with the key type each needs (RFC 8725: one algorithm per key). */
export const SIGNING_ALGS = {
  EdDSA: { kty: "OKP", crv: "Ed25519" },
  ES256: { kty: "EC", crv: "P-256" },
  RS256: { kty: "RSA", crv: undefined },
} as const;

export type SigningAlg = keyof typeof SIGNING_ALGS;

/** Private members of JWKs (RFC 7518 §6): never published. */
export const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

const baseJwk = z
  .looseObject({
    kty: z.string(),
    kid: z.string({ message: "the key needs a kid" }).check(z.minLength(1, "the key needs a kid")),
    alg: z.enum(Object.keys(SIGNING_ALGS) as [SigningAlg, ...SigningAlg[]], {
      message: "alg must be EdDSA, ES256 or RS256",
    }),
    crv: z.optional(z.string()),
  })
  .check(
    z.refine((jwk) => jwk.kty === SIGNING_ALGS[jwk.alg].kty && jwk.crv === SIGNING_ALGS[jwk.alg].crv, {
      message: "the key type does not match its alg (EdDSA: OKP Ed25519, ES256: EC P-256, RS256: RSA)",
    }),
  );

export type SigningJwk = z.output<typeof baseJwk> & Record<string, unknown>;

export const privateSigningJwk = baseJwk.check(
  z.refine((jwk) => typeof jwk.d === "string", {
    message: "it is a public key; the private key (with its d member) is needed",
  }),
);

export const publicSigningJwk = baseJwk.check(
  z.refine((jwk) => PRIVATE_JWK_MEMBERS.every((m) => !(m in jwk)), {
    message: "it contains private key members; only public keys belong here",
  }),
);

/** The parts of a Firebase service-account JSON file the custom token needs. */
export const serviceAccount = z.looseObject({
  client_email: z.email({ message: "client_email is missing" }),
  private_key: z.string({ message: "private_key is missing" }).check(
    z.refine((pem) => pem.includes("-----BEGIN PRIVATE KEY-----"), {
      message: "private_key is not a PKCS#8 PEM key",
    }),
  ),
  project_id: z.optional(z.string()),
});
