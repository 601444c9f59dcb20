/**
 * `phone-otp/client`: sign a user in with this service from a browser, React
 * Native or Node 20+ (it needs only fetch). See docs/sdk.md.
 */

export type { Camel } from "./camel.js";
export {
  createPhoneOtpClient,
  type PhoneOtpClient,
  type PhoneOtpClientOptions,
  type PhoneOtpSession,
  type RefreshResult,
  type SendOtpOptions,
  type SendOtpResult,
  type VerificationStatus,
  type VerificationStatusOptions,
  type VerifyOtpOptions,
  type VerifyOtpResult,
} from "./client.js";
export { PhoneOtpError, type PhoneOtpErrorCode } from "./errors.js";
export type { FetchLike, ResponseLike } from "./http.js";
export { type ItemStorage, memoryStorage, type PhoneOtpStorage } from "./storage.js";
export type { Problem, ProblemCode } from "./wire-types.js";
