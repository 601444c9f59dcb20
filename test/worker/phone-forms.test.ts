import { describe, expect, it } from "vitest";
import { CountryNotAllowedError, InvalidPhoneError } from "../../src/kernel/errors/service-error";
import { normalizePhone } from "../../src/kernel/phone/normalize-phone";

/**
 * The forms people type in India, each accepted as +919876543210 or refused,
 * and why. Accepting a form means two people who typed the same number in
 * two ways share one set of limits and one sign-in.
 */
const accepted: [input: string, why: string][] = [
  ["+919876543210", "E.164"],
  ["+91 98765 43210", "spaces as printed on cards"],
  ["+91-98765-43210", "dashes"],
  ["+91.98765.43210", "dots"],
  ["(+91) 98765 43210", "the country code in parentheses, as on letterheads"],
  ["(+91)9876543210", "the same without a space"],
  ["+(91) 98765 43210", "the plus outside the parentheses"],
  ["+91 (0) 98765 43210", "the trunk 0 in parentheses after the country code"],
  [
    "+91 098765 43210",
    "the trunk 0 kept after +91: Indian mobile numbers never start with 0, so it cannot change the number",
  ],
  ["+9109876543210", "the same without spaces"],
  ["0091 98765 43210", "00 is India's international prefix"],
  ["919876543210", "country code without the plus"],
  ["09876543210", "the trunk 0, as dialled inside India"],
  ["9876543210", "the 10-digit national number"],
  ["98765 43210", "national number with a space"],
  ["(98765) 43210", "parentheses around the first five digits"],
  ["  +91 98765 43210  ", "surrounding spaces"],
];

const refusedAsInvalid: [input: string, why: string][] = [
  ["+91 98765 4321", "nine digits: too short"],
  ["+91 98765 432100", "eleven digits: too long"],
  ["+91 12345 67890", "Indian mobile numbers start with 6, 7, 8 or 9"],
  ["+91 22 2345 6789", "a Mumbai landline: codes go to mobiles only"],
  ["+91 ९८७६५ ४३२१०", "Devanagari digits: refused rather than guessed"],
  ["+91 98765 43210 ext. 1", "letters"],
  ["++919876543210", "two plus signs"],
  ["", "empty"],
];

describe("phone forms (ALLOWED_COUNTRIES=IN)", () => {
  it.each(accepted)("accepts %j (%s)", (input) => {
    expect(normalizePhone(input, ["IN"])).toEqual({ e164: "+919876543210", country: "IN", national: "9876543210" });
  });

  it.each(refusedAsInvalid)("refuses %j as invalid_phone (%s)", (input) => {
    expect(() => normalizePhone(input, ["IN"])).toThrow(InvalidPhoneError);
  });

  it("refuses a valid number of another country as country_not_allowed", () => {
    expect(() => normalizePhone("+1 415 555 2671", ["IN"])).toThrow(CountryNotAllowedError);
    expect(() => normalizePhone("(+44) 7911 123456", ["IN"])).toThrow(CountryNotAllowedError);
  });
});
