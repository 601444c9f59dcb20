import {
  createLocalJWKSet,
  createRemoteJWKSet,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";

/** The claims of a valid phone-otp access token. */
export interface PhoneClaims extends JWTPayload {
  sub: string;
  phone_number: string;
  phone_number_verified: true;
  /**
   * The refresh-token session the token was issued for (GET /sessions lists it
   * by this id). Access tokens stay stateless: this helper does not ask the
   * service whether the session still exists, so a token outlives a logout by
   * at most its own lifetime (JWT_TTL_SECONDS, 15 minutes by default).
   */
  sid?: string;
}

export type AccessTokenAlg = "EdDSA" | "ES256" | "RS256" | "HS256";

export interface AccessTokenVerifierOptions {
  /** Exactly one key source: the service's JWKS URL, a JWK Set, a single public JWK, or the HS256 secret. */
  jwksUrl?: string | URL;
  jwks?: JSONWebKeySet;
  publicKey?: JWK;
  secret?: string | Uint8Array;
  /** The service's JWT_ISSUER and JWT_AUDIENCE. */
  issuer: string;
  audience: string;
  /** The algorithms accepted, pinned (RFC 8725): for example ["EdDSA"]. HS256 only with `secret`. */
  algorithms: readonly AccessTokenAlg[];
}

/** Thrown for any token that is not a valid phone-otp access token; `code` is stable. */
export class InvalidAccessTokenError extends Error {
  readonly code = "invalid_token";
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = "InvalidAccessTokenError";
  }
}

type Verify = (token: string) => Promise<PhoneClaims>;

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];

/**
 * The JWKS URL: https, or http to this machine only (local development). Over
 * plain http anyone on the path could hand the verifier their own keys and
 * have it accept the tokens they sign.
 */
function jwksEndpoint(jwksUrl: string | URL): URL {
  const url = new URL(jwksUrl);
  if (url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.includes(url.hostname))) return url;
  throw new TypeError("jwksUrl must be an https URL (http only to localhost)");
}

/**
 * Builds a verifier for this service's access tokens, for other Workers and
 * Node backends. Options are checked once, here; the returned function accepts
 * only tokens with a pinned algorithm, the right issuer and audience, `typ: JWT`,
 * unexpired, and with the phone claims this service issues.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): Verify {
  const sources = [options.jwksUrl, options.jwks, options.publicKey, options.secret].filter((s) => s !== undefined);
  if (sources.length !== 1) throw new TypeError("pass exactly one of jwksUrl, jwks, publicKey or secret");
  if (!options.issuer || !options.audience) throw new TypeError("issuer and audience are required");
  const algorithms = [...(options.algorithms ?? [])];
  if (algorithms.length === 0) throw new TypeError("algorithms must list the accepted algorithms");
  const symmetric = options.secret !== undefined;
  if (algorithms.some((a) => (a === "HS256") !== symmetric)) {
    // Mixing would let a public key be used as an HMAC secret (algorithm confusion).
    throw new TypeError(symmetric ? "a secret verifies HS256 only" : "HS256 needs `secret`, not public keys");
  }
  if (options.publicKey && ["d", "p", "q", "k"].some((m) => m in options.publicKey!)) {
    throw new TypeError("publicKey must be a public JWK");
  }

  const staticKey = options.publicKey
    ? importJWK(options.publicKey, options.publicKey.alg ?? algorithms[0])
    : typeof options.secret === "string"
      ? new TextEncoder().encode(options.secret)
      : options.secret;
  const getKey: JWTVerifyGetKey = options.jwksUrl
    ? createRemoteJWKSet(jwksEndpoint(options.jwksUrl))
    : options.jwks
      ? createLocalJWKSet(options.jwks)
      : async () => (await staticKey)!;
  const verifyOptions = { algorithms, issuer: options.issuer, audience: options.audience, typ: "JWT" };

  return async function verifyAccessToken(token: string): Promise<PhoneClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, verifyOptions));
    } catch (err) {
      throw new InvalidAccessTokenError(err instanceof Error ? err.message : "invalid token", { cause: err });
    }
    if (
      typeof payload.sub !== "string" ||
      payload.phone_number !== payload.sub ||
      payload.phone_number_verified !== true ||
      typeof payload.exp !== "number"
    ) {
      throw new InvalidAccessTokenError("the token lacks the phone claims of this service");
    }
    return payload as PhoneClaims;
  };
}
