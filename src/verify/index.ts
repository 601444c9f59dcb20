/**
 * For the app's other Workers and Node backends: check this service's access
 * tokens. See docs/tokens.md, "Verifying tokens in your backend".
 */

export { type PhoneAuthVariables, phoneAuth } from "./phone-auth";
export {
  type AccessTokenAlg,
  type AccessTokenVerifierOptions,
  createAccessTokenVerifier,
  InvalidAccessTokenError,
  type PhoneClaims,
} from "./verify-access-token";
