import { SignJWT } from "jose";
import type { SigningKey } from "./token-keys";

/** The audience Firebase Auth requires of custom tokens. */
export const FIREBASE_AUDIENCE =
  "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit";

/** Claim names Firebase reserves; a custom token's `claims` must use none of them. */
const RESERVED_CLAIMS = new Set([
  "acr",
  "amr",
  "at_hash",
  "aud",
  "auth_time",
  "azp",
  "cnf",
  "c_hash",
  "exp",
  "iat",
  "iss",
  "jti",
  "nbf",
  "nonce",
  "firebase",
]);

const LIFETIME_SECONDS = 3600;

/**
 * A Firebase custom token, made as firebase-admin makes it: RS256 with the
 * service account's private key, `iss` = `sub` = its client_email, the
 * Identity Toolkit audience, `iat`, `exp` = `iat + 3600`, `uid`, and `claims`.
 * The app signs in with `signInWithCustomToken(auth, token)`.
 */
export async function signFirebaseToken(
  account: { clientEmail: string; key: SigningKey },
  uid: string,
  claims: Record<string, unknown>,
): Promise<string> {
  if (uid.length < 1 || uid.length > 128) throw new RangeError("Firebase uid must be 1-128 characters");
  const reserved = Object.keys(claims).filter((k) => RESERVED_CLAIMS.has(k));
  if (reserved.length > 0) throw new RangeError(`reserved Firebase claim names: ${reserved.join(", ")}`);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ uid, claims })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(account.clientEmail)
    .setSubject(account.clientEmail)
    .setAudience(FIREBASE_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + LIFETIME_SECONDS)
    .sign(account.key);
}
