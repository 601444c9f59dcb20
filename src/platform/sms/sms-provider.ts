import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";

/** One OTP text to deliver. */
export interface OtpMessage {
  to: NormalizedPhone;
  code: string;
  appName: string;
}

/**
 * An SMS gateway. `send` resolves once the gateway has accepted the message,
 * and throws SmsFailedError otherwise (its detail is safe to show a client).
 * A provider never writes the code to a log.
 */
export interface SmsProvider {
  readonly name: string;
  send(message: OtpMessage): Promise<void>;
}

/** The text a person receives where the route lets us choose it. */
export function otpText(message: OtpMessage): string {
  return `Your ${message.appName} verification code is ${message.code}`;
}
