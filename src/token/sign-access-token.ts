import { SignJWT } from "jose";
import type { Settings } from "../config/settings";

export interface AccessToken {
  token: string;
  expiresIn: number;
}

const encoder = new TextEncoder();

/**
 * The access token for a number that just proved possession: HS256 with
 * JWT_SECRET, `typ: JWT`, OpenID Connect phone claims, and a unique `jti`.
 */
export async function signAccessToken(jwt: Settings["jwt"], e164: string): Promise<AccessToken> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ phone_number: e164, phone_number_verified: true })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(jwt.issuer)
    .setAudience(jwt.audience)
    .setSubject(e164)
    .setIssuedAt(now)
    .setExpirationTime(now + jwt.ttlSeconds)
    .setJti(crypto.randomUUID())
    .sign(encoder.encode(jwt.secret));
  return { token, expiresIn: jwt.ttlSeconds };
}
