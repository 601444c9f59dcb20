import { type CountryCode, isSupportedCountry } from "libphonenumber-js/mobile";
import * as z from "zod/mini";
import { MisconfiguredError } from "../errors/service-error";
import { memoizeByObject } from "../memo";
import { type Autofill, MAX_AUTOFILL_SMS_BYTES, otpMessageText, smsBytes } from "../otp-message";
import { normalizePhone } from "../phone/normalize-phone";
import { privateSigningJwk, publicSigningJwk, type SigningJwk, serviceAccount } from "./key-schemas";
import { estimateTokenBits } from "./token-entropy";

/**
 * All settings, read from the Worker's environment ([vars] in wrangler.toml,
 * secrets from `wrangler secret put` or .dev.vars) and validated once per
 * environment object. README.md ("Settings") documents each one.
 *
 * Messages here never include a value: a misconfiguration names the setting only.
 */

const MIN_SECRET_BYTES = 32;

/** What a setting's reader returns when the value is bad (after `problem` recorded why). */
const BAD = z.NEVER;

/**
 * A setting read from the environment's string (tests may bind numbers):
 * `read` turns the raw value into the setting, or calls `problem` with a
 * message that names what is expected, never the value, and returns BAD.
 */
function setting<T>(read: (raw: string | undefined, problem: (message: string) => typeof BAD) => T) {
  return z.pipe(
    z.optional(z.union([z.string(), z.number()])),
    z.transform((raw: string | number | undefined, payload) =>
      read(raw === undefined ? undefined : String(raw), (message) => {
        payload.issues.push({ code: "custom", message, input: raw });
        return BAD;
      }),
    ),
  );
}

const csv = (v: string | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

const isBlank = (v: string | undefined): v is undefined => v === undefined || v.trim() === "";

const int = (min: number, max: number, fallback: number) =>
  setting((raw, problem) => {
    if (isBlank(raw)) return fallback;
    const n = Number(raw.trim());
    return Number.isInteger(n) && n >= min && n <= max ? n : problem(`must be a whole number from ${min} to ${max}`);
  });

const bool = (fallback: boolean) =>
  setting((raw, problem) => {
    if (isBlank(raw)) return fallback;
    const v = raw.trim().toLowerCase();
    if (v === "true") return true;
    if (v === "false") return false;
    return problem("must be true or false");
  });

const text = (fallback: string) => setting((v) => (isBlank(v) ? fallback : v.trim()));

const optionalText = setting((v) => (isBlank(v) ? undefined : v.trim()));

const longEnough = (v: string) => new TextEncoder().encode(v).byteLength >= MIN_SECRET_BYTES;

const secret = setting((v, problem) => {
  if (v === undefined || v === "") return problem("is missing");
  return longEnough(v) ? v : problem(`must be at least ${MIN_SECRET_BYTES} bytes`);
});

/** Like `secret`, but may be absent (its presence is required by a dependent check). */
const optionalSecret = setting((v, problem) => {
  if (v === undefined || v === "") return undefined;
  return longEnough(v) ? v : problem(`must be at least ${MIN_SECRET_BYTES} bytes`);
});

/** Bits of randomness ADMIN_TOKEN must show (estimateTokenBits): it is the one lock on /admin. */
const MIN_ADMIN_TOKEN_BITS = 128;

/** Like `optionalSecret`, and refused when it looks typed rather than random (repeats, runs, few distinct characters). */
const adminToken = setting((v, problem) => {
  if (v === undefined || v === "") return undefined;
  const make = "make one with `openssl rand -base64 32`";
  if (!longEnough(v)) return problem(`must be at least ${MIN_SECRET_BYTES} bytes; ${make}`);
  if (estimateTokenBits(v) < MIN_ADMIN_TOKEN_BITS) {
    return problem(
      `looks guessable (repeated or sequential characters, or too few distinct ones) and must be random, at least ${MIN_ADMIN_TOKEN_BITS} bits; ${make}`,
    );
  }
  return v;
});

/** A JSON value in a string setting; the message never quotes the value. */
const json = <T extends z.ZodMiniType>(schema: T, what: string) =>
  setting((v, problem): z.output<T> | undefined => {
    if (isBlank(v)) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(v);
    } catch {
      return problem(`is not valid JSON (expected ${what})`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) return problem(`is not ${what}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return parsed.data;
  });

/** `+919999999999:123456,+918888888888:654321`: numbers and their fixed codes (checked against the other settings in loadSettings). */
const testNumbers = setting((v, problem) => {
  const out: { phone: string; code: string }[] = [];
  for (const entry of csv(v)) {
    const match = /^(.+):([0-9]{4,10})$/.exec(entry);
    if (!match) return problem("must be a comma-separated list of number:code pairs");
    out.push({ phone: match[1]!.trim(), code: match[2]! });
  }
  return out;
});

const oneOf = <const T extends string>(values: readonly T[], fallback: T) =>
  setting((v, problem): T => {
    if (isBlank(v)) return fallback;
    const value = v.trim() as T;
    return values.includes(value) ? value : problem(`must be ${values.slice(0, -1).join(", ")} or ${values.at(-1)}`);
  });

const countries = setting((v, problem) => {
  const list = csv(v ?? "IN").map((c) => c.toUpperCase());
  if (list.length === 0 || !list.every((c) => isSupportedCountry(c))) {
    return problem("must be a comma-separated list of ISO 3166 country codes");
  }
  return list as CountryCode[];
});

const origins = setting((v, problem) => {
  const list = csv(v);
  for (const origin of list) {
    if (origin === "*") continue;
    let valid = false;
    try {
      valid = new URL(origin).origin === origin;
    } catch {
      /* not a URL */
    }
    if (!valid) return problem("must be * or a comma-separated list of origins like https://app.example.com");
  }
  return list;
});

const httpUrl = (fallback: string) =>
  setting((v, problem) => {
    const raw = isBlank(v) ? fallback : v.trim();
    try {
      const url = new URL(raw);
      if (url.protocol === "https:" || url.protocol === "http:") return url.href.replace(/\/+$/, "");
    } catch {
      /* not a URL */
    }
    return problem("must be an http(s) URL");
  });

/** Where Cloudflare may place a Durable Object (`none`: wherever it is first used). */
const LOCATION_HINTS = ["apac", "wnam", "enam", "sam", "weur", "eeur", "oc", "afr", "me", "none"] as const;

/** `55836,45609`: autonomous system numbers. */
const asnList = (fallback: string) =>
  setting((v, problem) => {
    const list = csv(isBlank(v) ? fallback : v);
    if (!list.every((a) => /^[0-9]{1,10}$/.test(a))) return problem("must be a comma-separated list of AS numbers");
    return list.map(Number);
  });

/** Every gateway SMS_PROVIDERS may name; console sends nothing and stands alone. */
export const GATEWAYS = ["fast2sms", "msg91", "twofactor", "console"] as const;
export type GatewayName = (typeof GATEWAYS)[number];

/** `fast2sms,msg91,twofactor`: the gateways a send tries, in order (empty: SMS_PROVIDER alone). */
const gatewayList = setting((v, problem) => {
  const list = csv(v).map((g) => g.toLowerCase());
  if (!list.every((g): g is GatewayName => (GATEWAYS as readonly string[]).includes(g))) {
    return problem(`must be a comma-separated list of ${GATEWAYS.join(", ")}`);
  }
  if (new Set(list).size !== list.length) return problem("names a gateway twice");
  if (list.includes("console") && list.length > 1) return problem("may name console only alone (it sends nothing)");
  return list as GatewayName[];
});

/** The Android SMS Retriever hash: 11 characters of base64 (no padding). */
const appHash = setting((v, problem) => {
  if (isBlank(v)) return undefined;
  return /^[A-Za-z0-9+/]{11}$/.test(v.trim()) ? v.trim() : problem("must be the app's 11-character SMS Retriever hash");
});

/** A host name such as otp.example.com (no scheme, port or path), lower-cased. */
const host = setting((v, problem) => {
  if (isBlank(v)) return undefined;
  const name = v.trim().toLowerCase();
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
  const labels = name.split(".");
  const valid = name.length <= 253 && labels.length >= 2 && labels.every((l) => label.test(l));
  return valid ? name : problem("must be a host name such as otp.example.com (no scheme, port or path)");
});

/**
 * The settings, one group per concern. Each group is a zod schema over the
 * environment variables it reads (each written once here, with its default
 * in its reader) whose output is exactly what modules receive; `Settings` is
 * inferred from them, so there is no second declaration to keep in step.
 */
const groups = {
  service: group(
    {
      SMS_PROVIDER: oneOf(["fast2sms", "console"], "fast2sms"),
      SMS_PROVIDERS: gatewayList,
      SMS_SEND_DEADLINE_MS: int(1000, 60_000, 20_000),
      SMS_APP_HASH: appHash,
      OTP_WEB_DOMAIN: host,
      APP_NAME: text("Phone OTP"),
      ALLOWED_COUNTRIES: countries,
      SMS_DAILY_BUDGET: int(1, 10_000_000, 1000),
      STORAGE_TIMEOUT_MS: int(100, 30_000, 5000),
      CORS_ORIGINS: origins,
    },
    (e) => {
      const smsGateways: readonly GatewayName[] = e.SMS_PROVIDERS.length > 0 ? e.SMS_PROVIDERS : [e.SMS_PROVIDER];
      return {
        /** The first gateway of smsGateways (console only ever stands alone). */
        smsGateway: smsGateways[0]!,
        /** The gateways a send tries, in order: SMS_PROVIDERS, else SMS_PROVIDER alone. */
        smsGateways,
        /** How long one send may take across all the gateways it tries. */
        smsSendDeadlineMs: e.SMS_SEND_DEADLINE_MS,
        /** SMS Retriever hash and WebOTP / iOS domain, written into every message whose text the service writes. */
        autofill: { appHash: e.SMS_APP_HASH, webDomain: e.OTP_WEB_DOMAIN } as Autofill,
        appName: e.APP_NAME,
        allowedCountries: e.ALLOWED_COUNTRIES as readonly CountryCode[],
        /** Global SMS cap per UTC day. */
        smsDailyBudget: e.SMS_DAILY_BUDGET,
        /** How long a KV or Durable Object call may take before the request fails with 503. */
        storageTimeoutMs: e.STORAGE_TIMEOUT_MS,
        corsOrigins: e.CORS_ORIGINS as readonly string[],
      };
    },
  ),
  otp: group(
    {
      OTP_LENGTH: int(4, 10, 6),
      OTP_TTL_SECONDS: int(60, 600, 300),
      OTP_MAX_ATTEMPTS: int(1, 10, 5),
      OTP_MAX_FAILURES_PER_DAY: int(1, 100, 10),
      OTP_MAX_FAILURES_PER_NUMBER_PER_DAY: int(1, 100, 100),
      OTP_REQUIRE_VERIFICATION_ID: bool(true),
      OTP_MAX_VERIFIES_PER_IP_PER_HOUR: int(1, 10_000_000, 60),
      OTP_RESEND_COOLDOWN_SECONDS: int(0, 3600, 30),
      OTP_MAX_SENDS_PER_HOUR: int(1, 100, 3),
      OTP_MAX_SENDS_PER_NUMBER_PER_HOUR: int(1, 1000, 10),
      OTP_MAX_SENDS_PER_IP_PER_HOUR: int(1, 100_000, 10),
      OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: int(1, 10_000_000, 30),
      OTP_HASH_SECRET: secret,
    },
    (e) => ({
      length: e.OTP_LENGTH,
      ttlSeconds: e.OTP_TTL_SECONDS,
      maxAttempts: e.OTP_MAX_ATTEMPTS,
      /** Wrong guesses in 24 h at one number's codes that one client asked for, before that client gets no new code for it. */
      maxFailuresPerClientPerDay: e.OTP_MAX_FAILURES_PER_DAY,
      /** Wrong guesses in 24 h at all of one number's codes, before nobody gets a new code for it (NIST 800-63B: at most 100). */
      maxFailuresPerNumberPerDay: e.OTP_MAX_FAILURES_PER_NUMBER_PER_DAY,
      /** Whether /verify-otp needs the verification_id from /send-otp (false: checks the newest live code, for old apps). */
      requireVerificationId: e.OTP_REQUIRE_VERIFICATION_ID,
      /** Verifies per client address (IPv6: per /64, and more per /56 and /48; carrier addresses more) per rolling hour; a right code is given back. */
      maxVerifiesPerIpPerHour: e.OTP_MAX_VERIFIES_PER_IP_PER_HOUR,
      resendCooldownSeconds: e.OTP_RESEND_COOLDOWN_SECONDS,
      /** Sends to one number that one client may ask for in any rolling hour (the cooldown is per client too). */
      maxSendsPerHour: e.OTP_MAX_SENDS_PER_HOUR,
      /** Sends to one number from all clients in any rolling hour. */
      maxSendsPerNumberPerHour: e.OTP_MAX_SENDS_PER_NUMBER_PER_HOUR,
      maxSendsPerIpPerHour: e.OTP_MAX_SENDS_PER_IP_PER_HOUR,
      /**
       * Requests to /send-otp per client per rolling hour that reach the number, whatever their outcome (refused
       * ones too). The default, 30, is three times the sends: room for a user's taps the number's cooldown or
       * hourly limit refused, while one address gets at most that much work from the number's and budget's objects.
       */
      maxSendRequestsPerIpPerHour: e.OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR,
      hashSecret: e.OTP_HASH_SECRET,
    }),
  ),
  budget: group(
    {
      SMS_BUDGET_SHARDS: int(1, 256, 8),
      SMS_BUDGET_HOURLY_PERCENT: int(1, 100, 10),
      SMS_BUDGET_RETRY_SPREAD_SECONDS: int(0, 3600, 900),
      SMS_BUDGET_LOCATION_HINT: oneOf(LOCATION_HINTS, "apac"),
    },
    (e) => ({
      /** Durable Objects SMS_DAILY_BUDGET is split between (and the per-network hourly counts). */
      shards: e.SMS_BUDGET_SHARDS,
      /** Percent of the day's budget released each UTC hour, cumulatively (100: all of it at 00:00 UTC). */
      hourlyPercent: e.SMS_BUDGET_HOURLY_PERCENT,
      /** A refusal's Retry-After is the moment more budget is released plus up to this many random seconds. */
      retrySpreadSeconds: e.SMS_BUDGET_RETRY_SPREAD_SECONDS,
      locationHint:
        e.SMS_BUDGET_LOCATION_HINT === "none" ? undefined : (e.SMS_BUDGET_LOCATION_HINT as DurableObjectLocationHint),
    }),
  ),
  clients: group(
    {
      OTP_MAX_SENDS_PER_IPV6_56_PER_HOUR: int(1, 1_000_000, 50),
      OTP_MAX_SENDS_PER_IPV6_48_PER_HOUR: int(1, 1_000_000, 200),
      CARRIER_ASNS: asnList("55836,45609,38266,55410,9829"),
      OTP_MAX_SENDS_PER_CARRIER_IP_PER_HOUR: int(1, 1_000_000, 200),
      OTP_MAX_SENDS_PER_ASN_PER_HOUR: int(0, 10_000_000, 2000),
      TRUSTED_PROXY_SECRET: optionalSecret,
    },
    (e) => ({
      /** Sends per IPv6 /56 and /48 per rolling hour (a /64 gets OTP_MAX_SENDS_PER_IP_PER_HOUR). */
      maxSendsPer56PerHour: e.OTP_MAX_SENDS_PER_IPV6_56_PER_HOUR,
      maxSendsPer48PerHour: e.OTP_MAX_SENDS_PER_IPV6_48_PER_HOUR,
      /** Mobile carriers whose IPv4 addresses are shared by many users (carrier-grade NAT). */
      carrierAsns: e.CARRIER_ASNS as readonly number[],
      /** Sends per IPv4 address of a CARRIER_ASNS network per rolling hour, instead of OTP_MAX_SENDS_PER_IP_PER_HOUR. */
      maxSendsPerCarrierIpPerHour: e.OTP_MAX_SENDS_PER_CARRIER_IP_PER_HOUR,
      /** Sends per UTC hour from one network that is not in CARRIER_ASNS (0: no limit). */
      maxSendsPerAsnPerHour: e.OTP_MAX_SENDS_PER_ASN_PER_HOUR,
      /** Shared with an app's backend that passes its user's address in X-OTP-Client-IP. */
      trustedProxySecret: e.TRUSTED_PROXY_SECRET as string | undefined,
    }),
  ),
  testNumbers: group({ TEST_PHONE_NUMBERS: testNumbers }, (e) => e.TEST_PHONE_NUMBERS),
  turnstile: group(
    {
      TURNSTILE_SECRET_KEY: optionalText,
      TURNSTILE_SITEVERIFY_URL: httpUrl("https://challenges.cloudflare.com/turnstile/v0/siteverify"),
      TURNSTILE_EXPECTED_HOSTNAME: optionalText,
      TURNSTILE_EXPECTED_ACTION: optionalText,
      TURNSTILE_TIMEOUT_MS: int(500, 30_000, 5000),
    },
    /** Set when TURNSTILE_SECRET_KEY is: /send-otp then needs a valid `turnstile_token`. */
    (e) =>
      e.TURNSTILE_SECRET_KEY === undefined
        ? undefined
        : {
            secretKey: e.TURNSTILE_SECRET_KEY,
            siteverifyUrl: e.TURNSTILE_SITEVERIFY_URL,
            hostname: e.TURNSTILE_EXPECTED_HOSTNAME,
            action: e.TURNSTILE_EXPECTED_ACTION,
            timeoutMs: e.TURNSTILE_TIMEOUT_MS,
          },
  ),
  jwt: group(
    {
      JWT_SECRET: optionalSecret,
      JWT_PRIVATE_KEY: json(privateSigningJwk, "a private JWK with kid and alg EdDSA, ES256 or RS256"),
      JWT_PREVIOUS_PUBLIC_KEYS: json(z.array(publicSigningJwk), "a JSON array of public JWKs"),
      JWT_ISSUER: text("phone-otp"),
      JWT_AUDIENCE: text("phone-otp-app"),
      JWT_TTL_SECONDS: int(60, 86_400, 900),
    },
    (e) => ({
      /** HS256 key, used when no private key is set. */
      secret: e.JWT_SECRET as string | undefined,
      /** The current signing key (private JWK), when tokens are asymmetric. */
      privateKey: e.JWT_PRIVATE_KEY as SigningJwk | undefined,
      /** Retired public keys still published in the JWKS. */
      previousPublicKeys: (e.JWT_PREVIOUS_PUBLIC_KEYS ?? []) as readonly SigningJwk[],
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      ttlSeconds: e.JWT_TTL_SECONDS,
    }),
  ),
  sessions: group(
    {
      REFRESH_TOKEN_TTL_SECONDS: int(300, 31_536_000, 2_592_000),
      SESSION_MAX_AGE_SECONDS: int(300, 31_536_000, 7_776_000),
      SESSIONS_MAX_PER_NUMBER: int(1, 100, 10),
      REFRESH_REUSE_GRACE_SECONDS: int(0, 60, 10),
      REFRESH_MAX_PER_IP_PER_HOUR: int(1, 100_000, 600),
    },
    (e) => ({
      /** Idle lifetime: a session ends when not refreshed for this long. */
      refreshTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      /** Absolute lifetime from the verify. */
      maxAgeSeconds: e.SESSION_MAX_AGE_SECONDS,
      maxPerNumber: e.SESSIONS_MAX_PER_NUMBER,
      /** How long the immediately previous refresh token still answers with the same successor. */
      reuseGraceSeconds: e.REFRESH_REUSE_GRACE_SECONDS,
      maxRefreshesPerIpPerHour: e.REFRESH_MAX_PER_IP_PER_HOUR,
    }),
  ),
  admin: group(
    { ADMIN_TOKEN: adminToken },
    /** Set when ADMIN_TOKEN is: only then do /admin and everything under it exist. */
    (e) => (e.ADMIN_TOKEN === undefined ? undefined : { token: e.ADMIN_TOKEN as string }),
  ),
  firebase: group(
    { FIREBASE_SERVICE_ACCOUNT: json(serviceAccount, "a Firebase service-account JSON file") },
    /** Set when FIREBASE_SERVICE_ACCOUNT is: verify-otp then also returns a Firebase custom token. */
    (e) =>
      e.FIREBASE_SERVICE_ACCOUNT === undefined
        ? undefined
        : {
            clientEmail: e.FIREBASE_SERVICE_ACCOUNT.client_email,
            privateKeyPem: e.FIREBASE_SERVICE_ACCOUNT.private_key,
            projectId: e.FIREBASE_SERVICE_ACCOUNT.project_id as string | undefined,
          },
  ),
  fast2sms: group(
    {
      FAST2SMS_API_KEY: optionalText,
      FAST2SMS_BASE_URL: httpUrl("https://www.fast2sms.com"),
      FAST2SMS_ROUTE: oneOf(["otp", "q", "dlt"], "otp"),
      FAST2SMS_SENDER_ID: optionalText,
      FAST2SMS_TEMPLATE_ID: optionalText,
      FAST2SMS_TIMEOUT_MS: int(1000, 30_000, 10_000),
    },
    (e) => ({
      apiKey: e.FAST2SMS_API_KEY as string | undefined,
      baseUrl: e.FAST2SMS_BASE_URL,
      route: e.FAST2SMS_ROUTE,
      senderId: e.FAST2SMS_SENDER_ID as string | undefined,
      templateId: e.FAST2SMS_TEMPLATE_ID as string | undefined,
      timeoutMs: e.FAST2SMS_TIMEOUT_MS,
    }),
  ),
  msg91: group(
    {
      MSG91_AUTH_KEY: optionalText,
      MSG91_TEMPLATE_ID: optionalText,
      MSG91_BASE_URL: httpUrl("https://control.msg91.com"),
      MSG91_TIMEOUT_MS: int(1000, 30_000, 10_000),
    },
    (e) => ({
      authKey: e.MSG91_AUTH_KEY as string | undefined,
      templateId: e.MSG91_TEMPLATE_ID as string | undefined,
      baseUrl: e.MSG91_BASE_URL,
      timeoutMs: e.MSG91_TIMEOUT_MS,
    }),
  ),
  twofactor: group(
    {
      TWOFACTOR_API_KEY: optionalText,
      TWOFACTOR_TEMPLATE_NAME: optionalText,
      TWOFACTOR_BASE_URL: httpUrl("https://2factor.in"),
      TWOFACTOR_TIMEOUT_MS: int(1000, 30_000, 10_000),
    },
    (e) => ({
      apiKey: e.TWOFACTOR_API_KEY as string | undefined,
      templateName: e.TWOFACTOR_TEMPLATE_NAME as string | undefined,
      baseUrl: e.TWOFACTOR_BASE_URL,
      timeoutMs: e.TWOFACTOR_TIMEOUT_MS,
    }),
  ),
};

type Groups = typeof groups;
type GroupOutput<K extends keyof Groups> = ReturnType<Groups[K]["build"]>;

/** The validated settings the rest of the service works with. */
export type Settings = GroupOutput<"service"> & {
  otp: GroupOutput<"otp">;
  /** How SMS_DAILY_BUDGET is sharded, paced and placed (src/domain/guards/send-quotas.ts). */
  budget: GroupOutput<"budget">;
  /** Per-client limits that fit IPv6 and carrier NAT, and the trusted proxy. */
  clients: GroupOutput<"clients">;
  /** Fixed codes for app-store reviewers and CI, keyed by E.164; no SMS and no budget for these. */
  testNumbers: ReadonlyMap<string, string>;
  turnstile: GroupOutput<"turnstile">;
  jwt: GroupOutput<"jwt">;
  /** Refresh-token sessions (src/domain/sessions/). */
  sessions: GroupOutput<"sessions">;
  /** The operator's API and dashboard (/admin), when ADMIN_TOKEN is set. */
  admin: GroupOutput<"admin">;
  firebase: GroupOutput<"firebase">;
  fast2sms: GroupOutput<"fast2sms">;
  msg91: GroupOutput<"msg91">;
  twofactor: GroupOutput<"twofactor">;
};

const shapes = Object.values(groups).map((g) => g.shape as Record<string, z.ZodMiniType>);

/** Every setting's name (README's settings table is checked against it). */
export const SETTING_NAMES: readonly string[] = shapes.flatMap((shape) => Object.keys(shape));

/** What a setting is when it is not set: its default (undefined when it has none, or is required). */
export function settingDefault(name: string): unknown {
  const schema = shapes.find((shape) => name in shape)?.[name];
  const parsed = schema?.safeParse(undefined);
  return parsed?.success ? parsed.data : undefined;
}

type Issue = { name: string; message: string };

/**
 * Checks that depend on more than one setting, on the groups that parsed
 * (a group that did not parse has reported its own problems already).
 */
function dependentIssues(parsed: Partial<{ [K in keyof Groups]: GroupOutput<K> }>): Issue[] {
  const issues: Issue[] = [];
  const { service, otp, jwt, fast2sms, msg91, twofactor } = parsed;
  if (jwt && jwt.secret === undefined && jwt.privateKey === undefined) {
    issues.push({
      name: "JWT_SECRET",
      message: "is missing (set JWT_SECRET, or JWT_PRIVATE_KEY for asymmetric tokens)",
    });
  }
  if (otp && otp.maxSendRequestsPerIpPerHour < otp.maxSendsPerIpPerHour) {
    issues.push({
      name: "OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR",
      message: "must be at least OTP_MAX_SENDS_PER_IP_PER_HOUR (every send is also a request)",
    });
  }
  if (!service) return issues;
  const gateways = service.smsGateways;
  const via = gateways.length > 1 || service.smsGateway !== "fast2sms" ? "SMS_PROVIDERS contains" : "SMS_PROVIDER is";
  const autofill = [
    ...(service.autofill.appHash ? ["SMS_APP_HASH"] : []),
    ...(service.autofill.webDomain ? ["OTP_WEB_DOMAIN"] : []),
  ];
  if (gateways.includes("fast2sms") && fast2sms) {
    if (fast2sms.apiKey === undefined) {
      issues.push({ name: "FAST2SMS_API_KEY", message: `is required when ${via} fast2sms` });
    }
    if (fast2sms.route === "dlt") {
      if (!/^[A-Za-z]{3,6}$/.test(fast2sms.senderId ?? "")) {
        issues.push({
          name: "FAST2SMS_SENDER_ID",
          message: "must be the 3-6 letter DLT sender id when FAST2SMS_ROUTE is dlt",
        });
      }
      if (!/^\d+$/.test(fast2sms.templateId ?? "")) {
        issues.push({
          name: "FAST2SMS_TEMPLATE_ID",
          message: "must be the numeric DLT message id when FAST2SMS_ROUTE is dlt",
        });
      }
    }
    if (fast2sms.route === "otp") {
      for (const name of autofill) {
        issues.push({
          name,
          message:
            "cannot be carried by Fast2SMS's otp route, whose text is fixed: use FAST2SMS_ROUTE q, or dlt with the template README shows",
        });
      }
    }
  }
  if (gateways.includes("msg91") && msg91) {
    if (msg91.authKey === undefined) issues.push({ name: "MSG91_AUTH_KEY", message: `is required when ${via} msg91` });
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(msg91.templateId ?? "")) {
      issues.push({ name: "MSG91_TEMPLATE_ID", message: `must be the OTP template's id when ${via} msg91` });
    }
  }
  if (gateways.includes("twofactor") && twofactor) {
    // The key is a segment of 2Factor's URL path: only characters that need no escaping.
    if (!/^[A-Za-z0-9-]{8,128}$/.test(twofactor.apiKey ?? "")) {
      issues.push({
        name: "TWOFACTOR_API_KEY",
        message: `is required when ${via} twofactor (letters, digits and dashes, as 2Factor issues it)`,
      });
    }
    if (twofactor.templateName === undefined) {
      for (const name of autofill) {
        issues.push({
          name,
          message:
            "cannot be carried by 2Factor's default text: set TWOFACTOR_TEMPLATE_NAME to a template that carries it (README shows it)",
        });
      }
    }
  }
  if (gateways.some((g) => g !== "console") && service.allowedCountries.some((c) => c !== "IN")) {
    issues.push({
      name: "ALLOWED_COUNTRIES",
      message: "may only contain IN with Fast2SMS, MSG91 or 2Factor, which this service uses for Indian numbers only",
    });
  }
  if (otp) issues.push(...autofillIssues(service, otp.length));
  return issues;
}

/**
 * With a hash or a domain set, the message the service writes must stay
 * within the SMS Retriever's 140 bytes for the longest code (OTP_LENGTH
 * digits, twice): found here, before anything is sent.
 */
function autofillIssues(service: GroupOutput<"service">, otpLength: number): Issue[] {
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
 * The result is cached per environment object, so this runs once per isolate.
 */
export const loadSettings: (env: object) => Settings = memoizeByObject((env: object): Settings => {
  const issues: Issue[] = [];
  const parsed: Partial<{ [K in keyof Groups]: GroupOutput<K> }> = {};
  for (const key of Object.keys(groups) as (keyof Groups)[]) {
    const result = groups[key].schema.safeParse(env);
    if (result.success) (parsed as Record<string, unknown>)[key] = groups[key].build(result.data as never);
    else issues.push(...result.error.issues.map((i) => ({ name: String(i.path[0]), message: i.message })));
  }
  issues.push(...dependentIssues(parsed));
  const {
    service,
    otp,
    budget,
    clients,
    testNumbers,
    turnstile,
    jwt,
    sessions,
    admin,
    firebase,
    fast2sms,
    msg91,
    twofactor,
  } = parsed;
  const testNumberCodes =
    service && otp && testNumbers
      ? testNumberMap(testNumbers, service.allowedCountries, otp.length, issues)
      : new Map();
  if (
    issues.length > 0 ||
    !service ||
    !otp ||
    !budget ||
    !clients ||
    !testNumbers ||
    !jwt ||
    !sessions ||
    !fast2sms ||
    !msg91 ||
    !twofactor
  ) {
    const names = [...new Set(issues.map((i) => i.name))].sort();
    throw new MisconfiguredError(names, { cause: issues.map((i) => `${i.name} ${i.message}`).join("; ") });
  }
  return {
    ...service,
    otp,
    budget,
    clients,
    testNumbers: testNumberCodes,
    turnstile,
    jwt,
    sessions,
    admin,
    firebase,
    fast2sms,
    msg91,
    twofactor,
  };
});

/** A group: the variables it reads (a zod object) and how they become what modules receive. */
function group<S extends Record<string, z.ZodMiniType>, T>(shape: S, build: (env: z.output<z.ZodMiniObject<S>>) => T) {
  return { shape, schema: z.object(shape), build };
}
