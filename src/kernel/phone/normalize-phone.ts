import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/mobile";
import { CountryNotAllowedError, InvalidPhoneError } from "../errors/service-error";

export interface NormalizedPhone {
  /** E.164, e.g. +919876543210: the key for storage and the token's subject. */
  e164: string;
  /** ISO 3166 country, e.g. IN. */
  country: CountryCode;
  /** The national significant number, e.g. 9876543210 (what Fast2SMS wants). */
  national: string;
}

const MAX_INPUT_LENGTH = 32;

/**
 * Accepts E.164 and the forms people type (`+91 98765 43210`, `919876543210`,
 * `09876543210`, `9876543210`, `(+91) 98765 43210`, `+91 (0) 98765 43210`,
 * `+91 098765 43210`, `0091 98765 43210`, with spaces, dashes, dots or
 * parentheses; test/worker/phone-forms.test.ts has the whole table),
 * and returns the number only if it is a valid *mobile* number in one of the
 * allowed countries. Numbers without a `+` are read as numbers of the first
 * allowed country. Validation uses libphonenumber-js's mobile metadata.
 */
export function normalizePhone(input: string, allowed: readonly CountryCode[]): NormalizedPhone {
  // "(+91) 98765 43210": a country code written in parentheses is the same as "+91 98765 43210".
  const raw = input.trim().replace(/^\(\s*\+\s*(\d{1,3})\s*\)/, "+$1 ");
  if (raw.length === 0 || raw.length > MAX_INPUT_LENGTH || !/^\+?[\d\s\-().]+$/.test(raw)) {
    throw new InvalidPhoneError("Enter a mobile number using digits, for example +919876543210 or 98765 43210.");
  }
  const defaultCountry = allowed[0];
  const parsed = parsePhoneNumberFromString(raw, { defaultCountry, extract: false });
  // The mobile metadata makes isValid() true only for mobile numbers.
  if (!parsed?.isValid() || !parsed.country) {
    throw new InvalidPhoneError("This is not a valid mobile number. Check the digits and the country code.");
  }
  if (!allowed.includes(parsed.country)) {
    throw new CountryNotAllowedError(
      `Numbers from this country are not accepted here. Allowed: ${allowed.join(", ")}.`,
    );
  }
  return { e164: parsed.number, country: parsed.country, national: parsed.nationalNumber };
}
