import { SignJWT } from "jose";
import type { Settings } from "../../kernel/config/settings";
import type { AccessSigner } from "./token-keys";

export interface AccessToken {
  token: string;
  expiresIn: number;
}

/**
 * The access token for a number that just proved possession: signed with the
 * current key (its `kid` in the header) or HS256, `typ: JWT`, OpenID Connect
 * phone claims, a unique `jti`, and `sid`, the refresh-token session it belongs to.
 */
export async function signAccessToken(
  jwt: Settings["jwt"],
  signer: AccessSigner,
  e164: string,
  sessionId?: string,
): Promise<AccessToken> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { phone_number: e164, phone_number_verified: true, ...(sessionId ? { sid: sessionId } : {}) };
  const token = await new SignJWT(claims)
    .setProtectedHeader(signer.kid ? { alg: signer.alg, typ: "JWT", kid: signer.kid } : { alg: signer.alg, typ: "JWT" })
    .setIssuer(jwt.issuer)
    .setAudience(jwt.audience)
    .setSubject(e164)
    .setIssuedAt(now)
    .setExpirationTime(now + jwt.ttlSeconds)
    .setJti(crypto.randomUUID())
    .sign(signer.key);
  return { token, expiresIn: jwt.ttlSeconds };
}
