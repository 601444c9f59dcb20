import { parsePhoneNumberFromString } from "libphonenumber-js/mobile";

export interface BenchPhone {
  /** E.164, e.g. +919800000123. */
  e164: string;
  /** National number, as Fast2SMS receives it in `numbers`. */
  national: string;
}

/**
 * Distinct Indian mobile numbers, +9198xxxxxxxx counting up from `start`,
 * each checked with libphonenumber-js's mobile metadata (the service's own
 * rule), so every virtual user has its own valid number and the per-number
 * limits of one user never touch another's.
 */
export function* indianMobiles(start = 0): Generator<BenchPhone> {
  for (let n = start; n < 100_000_000; n++) {
    const e164 = `+9198${String(n).padStart(8, "0")}`;
    const parsed = parsePhoneNumberFromString(e164);
    if (parsed?.isValid() && parsed.country === "IN") yield { e164, national: parsed.nationalNumber };
  }
  throw new Error("ran out of +9198 numbers");
}
