/** `+919876543210` → `+91******3210`: enough to correlate log lines, not to identify a person. */
export function maskPhone(e164: string): string {
  if (e164.length <= 7) return "*".repeat(e164.length);
  return `${e164.slice(0, 3)}${"*".repeat(e164.length - 7)}${e164.slice(-4)}`;
}

/** Digits this many or more (separators aside) are taken for a phone number in free text. */
const MIN_PHONE_DIGITS = 8;

/**
 * Something that may be a phone number in free text (a path, a message): an
 * optional `+` (also percent-encoded, `%2B`), then digits that may be split
 * by up to three of any characters but letters and digits (spaces, dots,
 * dashes, underscores, slashes, brackets) or percent-encoded characters
 * (`%20`, `%2D`, `%5F`…), so a number written in pieces is still one match.
 */
const PHONE_LIKE = /(?:\+|%2b)?\d(?:(?:[^A-Za-z0-9%]|%[0-9a-f]{2}){0,3}\d)+/gi;

/**
 * Masks every phone-like run of MIN_PHONE_DIGITS or more digits in `text`, in
 * maskPhone's style: the last four digits are kept and, where a country code
 * leads (after a `+` or `%2B`, or in 12 digits or more), the first two and
 * the sign; everything between becomes `*`. So `/admin/numbers/%2B919876543210`
 * logs as `/admin/numbers/%2B91******3210`, `/x/91_98765_43210` as
 * `/x/91******3210`, and `09876543210` as `*******3210`. Shorter digit runs
 * (ids, years, ports) are left alone; a date with its dashes (8 digits) is
 * masked too, which costs a log reader little.
 */
export function maskPhonesIn(text: string): string {
  return text.replace(PHONE_LIKE, (match) => {
    const digits = match.replace(/%[0-9a-f]{2}/gi, "").replace(/\D/g, "");
    if (digits.length < MIN_PHONE_DIGITS) return match;
    const plus = /^(\+|%2b)/i.exec(match)?.[0] ?? "";
    const kept = plus !== "" || digits.length >= 12 ? 2 : 0;
    return `${plus}${digits.slice(0, kept)}${"*".repeat(digits.length - kept - 4)}${digits.slice(-4)}`;
  });
}
