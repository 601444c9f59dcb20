/**
 * The text of an OTP message where the service writes it (Fast2SMS's `q`
 * route, the console provider), and its size as a phone counts it.
 *
 * With the autofill settings the message serves the Android SMS Retriever
 * (the app's 11-character hash anywhere in the message, at most 140 bytes)
 * and WebOTP / iOS Security Code AutoFill (the last line is `@host #code`,
 * nothing after it):
 *
 *   Your Dukaan verification code is 123456
 *   FA+9qCX9VSu
 *   @otp.example.com #123456
 *
 * It lives in the kernel because the settings check its size before anything
 * is sent, and the SMS gateways write it.
 */

/** Android's SMS Retriever reads messages of at most this many bytes. */
export const MAX_AUTOFILL_SMS_BYTES = 140;

export interface Autofill {
  /** The Android app's SMS Retriever hash (11 characters). */
  appHash: string | undefined;
  /** The host of the `@host #code` line (WebOTP, iOS). */
  webDomain: string | undefined;
}

export function otpMessageText(appName: string, code: string, autofill?: Autofill): string {
  const lines = [`Your ${appName} verification code is ${code}`];
  if (autofill?.appHash) lines.push(autofill.appHash);
  if (autofill?.webDomain) lines.push(`@${autofill.webDomain} #${code}`);
  return lines.join("\n");
}

/** The characters of the GSM 7-bit default alphabet that take one septet (its extension table takes two). */
const GSM7 =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENDED = "^{}\\[~]|€\f";

/**
 * The message's size in bytes, counted the stricter of two ways: its UTF-8
 * bytes, and what it takes on the air (GSM 7-bit: 7 bits a character; any
 * other character makes the whole message UCS-2: 2 bytes a UTF-16 unit).
 * For plain ASCII text this is the number of characters.
 */
export function smsBytes(text: string): number {
  const utf8 = new TextEncoder().encode(text).byteLength;
  let septets = 0;
  for (const ch of text) {
    if (GSM7.includes(ch)) septets += 1;
    else if (GSM7_EXTENDED.includes(ch)) septets += 2;
    else return Math.max(utf8, text.length * 2);
  }
  return Math.max(utf8, Math.ceil((septets * 7) / 8));
}
