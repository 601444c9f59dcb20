import { importJWK, importPKCS8, type JWK, type SignJWT } from "jose";
import { PRIVATE_JWK_MEMBERS, type SigningAlg, type SigningJwk } from "../../kernel/config/key-schemas";
import type { Settings } from "../../kernel/config/settings";
import { hmacKey } from "../../kernel/crypto/hmac-key";
import { MisconfiguredError } from "../../kernel/errors/service-error";
import { memoizeByObject } from "../../kernel/memo";

/** What jose signs with: a CryptoKey, or the bytes of an HMAC secret. */
export type SigningKey = Parameters<SignJWT["sign"]>[0];

/** The key that signs access tokens: HS256 with JWT_SECRET, or the JWT_PRIVATE_KEY JWK. */
export type AccessSigner =
  | { alg: "HS256"; kid: undefined; key: SigningKey }
  | { alg: SigningAlg; kid: string; key: SigningKey };

export interface TokenKeys {
  access: AccessSigner;
  /** The public JWK Set: the current key's public half, then the retired keys. Empty with HS256. */
  jwks: { keys: JWK[] };
  firebase: { clientEmail: string; key: SigningKey } | undefined;
}

/** Public members per key type (RFC 7518 §6); everything else is dropped before publishing. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  OKP: ["crv", "x"],
  EC: ["crv", "x", "y"],
  RSA: ["n", "e"],
};

/** The public half of a signing JWK, built from an allow-list so no private member can slip through. */
export function publicJwk(jwk: SigningJwk): JWK {
  const out: Record<string, unknown> = { kty: jwk.kty, kid: jwk.kid, alg: jwk.alg, use: "sig" };
  for (const member of PUBLIC_MEMBERS[jwk.kty] ?? []) {
    if (jwk[member] !== undefined) out[member] = jwk[member];
  }
  return out as JWK;
}

/**
 * Imports every configured key once per settings object. Any key that does
 * not import is a MisconfiguredError naming its setting, raised before a
 * request does anything (the settings middleware awaits this).
 */
export const tokenKeysFor: (settings: Settings) => Promise<TokenKeys> = memoizeByObject(importKeys);

async function importKeys(settings: Settings): Promise<TokenKeys> {
  const { jwt } = settings;
  const access: AccessSigner = jwt.privateKey
    ? {
        alg: jwt.privateKey.alg,
        kid: jwt.privateKey.kid,
        key: await importingSetting("JWT_PRIVATE_KEY", () => importJWK(jwt.privateKey as JWK, jwt.privateKey!.alg)),
      }
    : // An HMAC CryptoKey, imported here once: given the secret's bytes, jose would import them on every signature.
      { alg: "HS256", kid: undefined, key: await hmacKey(jwt.secret!) };

  for (const previous of jwt.previousPublicKeys) {
    await importingSetting("JWT_PREVIOUS_PUBLIC_KEYS", () => importJWK(publicJwk(previous), previous.alg));
  }
  const jwks = { keys: publishedKeys(jwt.privateKey, jwt.previousPublicKeys) };

  const firebase = settings.firebase && {
    clientEmail: settings.firebase.clientEmail,
    key: await importingSetting("FIREBASE_SERVICE_ACCOUNT", () =>
      importPKCS8(settings.firebase!.privateKeyPem, "RS256"),
    ),
  };
  return { access, jwks, firebase };
}

/**
 * The current key first, then the others. A published key may repeat the
 * current one (the rotation steps in docs/tokens.md publish a key before it signs);
 * the same kid with different key material is a misconfiguration.
 */
function publishedKeys(current: SigningJwk | undefined, previous: readonly SigningJwk[]): JWK[] {
  const byKid = new Map<string, JWK>();
  for (const jwk of [...(current ? [current] : []), ...previous].map(publicJwk)) {
    const seen = byKid.get(jwk.kid!);
    if (seen && JSON.stringify(seen) !== JSON.stringify(jwk)) {
      throw new MisconfiguredError(["JWT_PREVIOUS_PUBLIC_KEYS"], {
        cause: "JWT_PREVIOUS_PUBLIC_KEYS has a kid that names two different keys",
      });
    }
    byKid.set(jwk.kid!, jwk);
  }
  const keys = [...byKid.values()];
  if (keys.some((k) => PRIVATE_JWK_MEMBERS.some((m) => m in k))) throw new Error("a private member reached the JWKS");
  return keys;
}

async function importingSetting<T>(setting: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw new MisconfiguredError([setting], {
      cause: `${setting} could not be imported as a key: ${err instanceof Error ? err.name : "error"}`,
    });
  }
}
