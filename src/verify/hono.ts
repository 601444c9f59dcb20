/**
 * `phone-otp/verify/hono`: the Hono middleware that requires this service's
 * access token. Its types need `hono` (an optional peer dependency of the
 * package); `phone-otp/verify` does not.
 */

export { type PhoneAuthVariables, phoneAuth } from "./phone-auth.js";
