import { type Autofill, otpMessageText } from "../../kernel/otp-message";
import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";

/** How a code reaches the phone: a text message, or a call that speaks the digits. */
export type Channel = "sms" | "voice";

export const CHANNELS = ["sms", "voice"] as const satisfies readonly Channel[];

/** One OTP to deliver. */
export interface OtpMessage {
  to: NormalizedPhone;
  code: string;
  appName: string;
  /** `sms` when absent. */
  channel?: Channel;
  /** The autofill hash and domain, for a text the service writes. */
  autofill?: Autofill;
}

export interface SendOptions {
  /** At most this long for this attempt (what is left of the send's deadline); the gateway's own timeout still applies. */
  timeoutMs?: number;
}

/** Which gateway accepted a message, and the ones tried before it that failed (failover-gateway.ts says so). */
export interface SmsDelivered {
  gateway: string;
  failedOverFrom: string[];
}

/**
 * A gateway. `send` resolves once the gateway has accepted the message (the
 * failover gateway with the SmsDelivered that names it), and
 * throws SmsFailedError otherwise (its detail is safe to show a client; its
 * `failure` is for the log). A gateway never writes the code or its key to a
 * log, an error or a URL it reports.
 */
export interface SmsGateway {
  readonly name: string;
  /** The channels it can deliver on. */
  readonly channels: readonly Channel[];
  // biome-ignore lint/suspicious/noConfusingVoidType: one gateway resolves to nothing; the failover gateway to the SmsDelivered naming the one that accepted.
  send(message: OtpMessage, options?: SendOptions): Promise<SmsDelivered | void>;
}

/** The text a person receives where the service writes it (with the autofill lines when set). */
export function otpText(message: OtpMessage): string {
  return otpMessageText(message.appName, message.code, message.autofill);
}

export const channelOf = (message: OtpMessage): Channel => message.channel ?? "sms";
