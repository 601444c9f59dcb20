import {
  type AccessTokenAlg,
  createAccessTokenVerifier,
  InvalidAccessTokenError,
  type PhoneClaims,
} from "./verify-access-token.js";

/** The options of verifyAccessToken: the service's JWKS URL, JWT_ISSUER and JWT_AUDIENCE. */
export interface VerifyAccessTokenOptions {
  jwksUrl: string | URL;
  issuer: string;
  audience: string;
  /** The algorithms accepted; by default the three this service signs with: EdDSA, ES256 and RS256 (never HS256). */
  algorithms?: readonly Exclude<AccessTokenAlg, "HS256">[];
}

const ASYMMETRIC: readonly Exclude<AccessTokenAlg, "HS256">[] = ["EdDSA", "ES256", "RS256"];
/** Verifiers by options, so the JWKS is fetched once and cached (jose refetches it on an unknown kid). */
const verifiers = new Map<string, (token: string) => Promise<PhoneClaims>>();
const MAX_VERIFIERS = 16;

/**
 * Checks one access token of this service against its JWKS and resolves to
 * the token's claims, or throws InvalidAccessTokenError (`code` "invalid_token").
 * The algorithm is pinned to the allow-list, and issuer, audience, `typ`,
 * expiry and the phone claims are checked (createAccessTokenVerifier). Calls
 * with the same options share one verifier and its cached keys.
 */
export async function verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<PhoneClaims> {
  if (typeof token !== "string" || token === "") throw new InvalidAccessTokenError("missing token");
  const algorithms = [...(options.algorithms ?? ASYMMETRIC)];
  const key = JSON.stringify([String(options.jwksUrl), options.issuer, options.audience, algorithms]);
  let verify = verifiers.get(key);
  if (!verify) {
    verify = createAccessTokenVerifier({
      jwksUrl: options.jwksUrl,
      issuer: options.issuer,
      audience: options.audience,
      algorithms,
    });
    if (verifiers.size >= MAX_VERIFIERS) verifiers.delete(verifiers.keys().next().value!);
    verifiers.set(key, verify);
  }
  return verify(token);
}
