/**
 * For the app's other Workers and Node backends: check this service's access
 * tokens. See README.md, "Verifying tokens in your backend".
 */
export {
  createAccessTokenVerifier,
  InvalidAccessTokenError,
  type AccessTokenAlg,
  type AccessTokenVerifierOptions,
  type PhoneClaims,
} from "./verify-access-token";
export { phoneAuth, type PhoneAuthVariables } from "./phone-auth";
