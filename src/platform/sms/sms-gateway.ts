import { type Autofill, otpMessageText } from "../../kernel/otp-message";
import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";

/** How a code reaches the phone: a text message, a call that speaks the digits, or a WhatsApp authentication template. */
export type Channel = "sms" | "voice" | "whatsapp";

export const CHANNELS = ["sms", "voice", "whatsapp"] as const satisfies readonly Channel[];

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

/**
 * A delivery report a gateway makes up for itself (the console gateway, in
 * local development): `afterMs` after the send, the send's background work
 * records it on the number as a webhook would; `recorded` runs once it is.
 */
export interface SimulatedReport {
  status: "delivered" | "failed";
  reason?: string;
  afterMs: number;
  recorded?: () => void;
}

/** What a gateway answered when it accepted a message: its own id of the message, which its delivery reports name. */
export interface SmsAccepted {
  /** Fast2SMS `request_id`, MSG91 `request_id`, 2Factor `Details` (the session id); undefined when the answer had none. */
  messageId: string | undefined;
  simulatedReport?: SimulatedReport;
}

/** Which gateway accepted a message, its id there, and the ones tried before it that failed (failover-gateway.ts says so). */
export interface SmsDelivered extends SmsAccepted {
  gateway: string;
  /** The channel it went out on: the one asked for, or the one a send fell back to (whatsapp → sms). */
  channel: Channel;
  failedOverFrom: string[];
}

/** The longest message id kept; anything longer (or empty, or with control characters) is no id. */
const MESSAGE_ID_MAX_LENGTH = 200;

/** A gateway's message id as its answer gave it, if it is usable as one. */
export function messageIdFrom(value: unknown): string | undefined {
  const id = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof id !== "string") return undefined;
  const t = id.trim();
  return t !== "" && t.length <= MESSAGE_ID_MAX_LENGTH && !/\p{Cc}/u.test(t) ? t : undefined;
}

/**
 * A gateway. `send` resolves once the gateway has accepted the message, with
 * the gateway's id of it (the failover gateway with the SmsDelivered that
 * also names the gateway), and
 * throws SmsFailedError otherwise (its detail is safe to show a client; its
 * `failure` is for the log). A gateway never writes the code or its key to a
 * log, an error or a URL it reports.
 */
export interface SmsGateway {
  readonly name: string;
  /** The channels it can deliver on. */
  readonly channels: readonly Channel[];
  send(message: OtpMessage, options?: SendOptions): Promise<SmsAccepted | SmsDelivered>;
}

/** The text a person receives where the service writes it (with the autofill lines when set). */
export function otpText(message: OtpMessage): string {
  return otpMessageText(message.appName, message.code, message.autofill);
}

export const channelOf = (message: OtpMessage): Channel => message.channel ?? "sms";
