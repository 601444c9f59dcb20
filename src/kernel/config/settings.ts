import type { CountryCode } from "libphonenumber-js/mobile";
import { MisconfiguredError } from "../errors/service-error";
import { memoizeByObject } from "../memo";
import { MAX_AUTOFILL_SMS_BYTES, otpMessageText, smsBytes } from "../otp-message";
import { normalizePhone } from "../phone/normalize-phone";
import { GATEWAYS, type GatewaySettings, gatewayIssues } from "./gateways";
import { SETTINGS_GROUPS } from "./groups";
import { allParsed, type GroupValues, type Issue, readGroups } from "./readers";

export type { GatewayName, GatewaySettings } from "./gateways";

/**
 * All settings, read from the Worker's environment ([vars] in wrangler.toml,
 * secrets from `wrangler secret put` or .dev.vars) and validated once per
 * environment object. docs/settings.md documents each one. How a value is
 * read is in readers.ts, the groups of settings in groups.ts, the gateways'
 * in gateways.ts; here they are loaded, and checked against each other.
 *
 * Messages here never include a value: a misconfiguration names the setting only.
 */

type GroupSettings = GroupValues<typeof SETTINGS_GROUPS>;

/** The validated settings the rest of the service works with. */
export type Settings = GroupSettings["service"] &
  Omit<GroupSettings, "service" | "testNumbers"> & {
    /** Fixed codes for app-store reviewers and CI, keyed by E.164; no SMS and no budget for these. */
    testNumbers: ReadonlyMap<string, string>;
    /** Each gateway's own settings, by its name (gateways.ts). */
    gateways: GatewaySettings;
  };

const shapes = [...Object.values(SETTINGS_GROUPS), ...Object.values(GATEWAYS)].map((g) => g.shape);

/** Every setting's name (docs/settings.md's table is checked against it). */
export const SETTING_NAMES: readonly string[] = shapes.flatMap((shape) => Object.keys(shape));

/** What a setting is when it is not set: its default (undefined when it has none, or is required). */
export function settingDefault(name: string): unknown {
  const schema = shapes.find((shape) => name in shape)?.[name];
  const parsed = schema?.safeParse(undefined);
  return parsed?.success ? parsed.data : undefined;
}

/**
 * With a hash or a domain set, the message the service writes must stay
 * within the SMS Retriever's 140 bytes for the longest code (OTP_LENGTH
 * digits, twice): found here, before anything is sent.
 */
function autofillIssues(service: GroupSettings["service"], otpLength: number): Issue[] {
  const { autofill } = service;
  if (!autofill.appHash && !autofill.webDomain) return [];
  const bytes = smsBytes(otpMessageText(service.appName, "0".repeat(otpLength), autofill));
  if (bytes <= MAX_AUTOFILL_SMS_BYTES) return [];
  const message = `makes the autofill SMS ${bytes} bytes with OTP_LENGTH ${otpLength}; at most ${MAX_AUTOFILL_SMS_BYTES} are read (shorten APP_NAME or OTP_WEB_DOMAIN)`;
  return ["APP_NAME", ...(autofill.webDomain ? ["OTP_WEB_DOMAIN"] : [])].map((name) => ({ name, message }));
}

/** TEST_PHONE_NUMBERS against ALLOWED_COUNTRIES and OTP_LENGTH; problems join the others. */
function testNumberMap(
  pairs: readonly { phone: string; code: string }[],
  allowed: readonly CountryCode[],
  length: number,
  issues: Issue[],
): Map<string, string> {
  const map = new Map<string, string>();
  for (const { phone, code } of pairs) {
    let e164: string;
    try {
      e164 = normalizePhone(phone, allowed).e164;
    } catch {
      issues.push({ name: "TEST_PHONE_NUMBERS", message: "has a number that is not a valid allowed mobile number" });
      continue;
    }
    if (code.length !== length) {
      issues.push({ name: "TEST_PHONE_NUMBERS", message: "has a code whose length is not OTP_LENGTH" });
      continue;
    }
    map.set(e164, code);
  }
  return map;
}

/**
 * Validates the environment and returns the settings, or throws
 * MisconfiguredError naming every bad setting at once (never its value).
 * Every group and gateway is read, then the checks across them run on those
 * that parsed (a group that did not parse has reported its own problems).
 * The result is cached per environment object, so this runs once per isolate.
 */
export const loadSettings: (env: object) => Settings = memoizeByObject((env: object): Settings => {
  const issues: Issue[] = [];
  const groups = readGroups(SETTINGS_GROUPS, env, issues);
  const gateways = readGroups(GATEWAYS, env, issues);
  const { service, otp, testNumbers } = groups;
  if (service) {
    issues.push(...gatewayIssues(service.smsGateways, gateways, service.autofill, service.allowedCountries));
    if (otp) issues.push(...autofillIssues(service, otp.length));
  }
  const testNumberCodes =
    service && otp && testNumbers
      ? testNumberMap(testNumbers, service.allowedCountries, otp.length, issues)
      : new Map<string, string>();
  if (issues.length > 0 || !allParsed(groups, SETTINGS_GROUPS) || !allParsed(gateways, GATEWAYS)) {
    const names = [...new Set(issues.map((i) => i.name))].sort();
    throw new MisconfiguredError(names, { cause: issues.map((i) => `${i.name} ${i.message}`).join("; ") });
  }
  const { service: top, testNumbers: _pairs, ...rest } = groups;
  return { ...top, ...rest, testNumbers: testNumberCodes, gateways };
});
