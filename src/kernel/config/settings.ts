import { type CountryCode, isSupportedCountry } from "libphonenumber-js/mobile";
import * as z from "zod/mini";
import { MisconfiguredError } from "../errors/service-error";
import { type Autofill, MAX_AUTOFILL_SMS_BYTES, otpMessageText, smsBytes } from "../otp-message";
import { normalizePhone } from "../phone/normalize-phone";
import { privateSigningJwk, publicSigningJwk, type SigningJwk, serviceAccount } from "./key-schemas";

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

const envSchema = z.object({
  SMS_PROVIDER: oneOf(["fast2sms", "console"], "fast2sms"),
  SMS_PROVIDERS: gatewayList,
  SMS_SEND_DEADLINE_MS: int(1000, 60_000, 20_000),
  SMS_APP_HASH: appHash,
  OTP_WEB_DOMAIN: host,
  APP_NAME: text("Phone OTP"),
  ALLOWED_COUNTRIES: countries,
  OTP_LENGTH: int(4, 10, 6),
  OTP_TTL_SECONDS: int(60, 600, 300),
  OTP_MAX_ATTEMPTS: int(1, 10, 5),
  OTP_MAX_FAILURES_PER_DAY: int(1, 100, 10),
  OTP_MAX_FAILURES_PER_NUMBER_PER_DAY: int(1, 100, 100),
  OTP_REQUIRE_VERIFICATION_ID: bool(true),
  OTP_RESEND_COOLDOWN_SECONDS: int(0, 3600, 30),
  OTP_MAX_SENDS_PER_HOUR: int(1, 100, 3),
  OTP_MAX_SENDS_PER_NUMBER_PER_HOUR: int(1, 1000, 10),
  OTP_MAX_SENDS_PER_IP_PER_HOUR: int(1, 100_000, 10),
  SMS_DAILY_BUDGET: int(1, 10_000_000, 1000),
  STORAGE_TIMEOUT_MS: int(100, 30_000, 5000),
  TEST_PHONE_NUMBERS: testNumbers,
  TURNSTILE_SECRET_KEY: optionalText,
  TURNSTILE_SITEVERIFY_URL: httpUrl("https://challenges.cloudflare.com/turnstile/v0/siteverify"),
  TURNSTILE_EXPECTED_HOSTNAME: optionalText,
  TURNSTILE_EXPECTED_ACTION: optionalText,
  TURNSTILE_TIMEOUT_MS: int(500, 30_000, 5000),
  OTP_HASH_SECRET: secret,
  JWT_SECRET: optionalSecret,
  JWT_PRIVATE_KEY: json(privateSigningJwk, "a private JWK with kid and alg EdDSA, ES256 or RS256"),
  JWT_PREVIOUS_PUBLIC_KEYS: json(z.array(publicSigningJwk), "a JSON array of public JWKs"),
  FIREBASE_SERVICE_ACCOUNT: json(serviceAccount, "a Firebase service-account JSON file"),
  JWT_ISSUER: text("phone-otp"),
  JWT_AUDIENCE: text("phone-otp-app"),
  JWT_TTL_SECONDS: int(60, 86_400, 900),
  REFRESH_TOKEN_TTL_SECONDS: int(300, 31_536_000, 2_592_000),
  SESSION_MAX_AGE_SECONDS: int(300, 31_536_000, 7_776_000),
  SESSIONS_MAX_PER_NUMBER: int(1, 100, 10),
  REFRESH_REUSE_GRACE_SECONDS: int(0, 60, 10),
  REFRESH_MAX_PER_IP_PER_HOUR: int(1, 100_000, 600),
  FAST2SMS_API_KEY: optionalText,
  FAST2SMS_BASE_URL: httpUrl("https://www.fast2sms.com"),
  FAST2SMS_ROUTE: oneOf(["otp", "q", "dlt"], "otp"),
  FAST2SMS_SENDER_ID: optionalText,
  FAST2SMS_TEMPLATE_ID: optionalText,
  FAST2SMS_TIMEOUT_MS: int(1000, 30_000, 10_000),
  MSG91_AUTH_KEY: optionalText,
  MSG91_TEMPLATE_ID: optionalText,
  MSG91_BASE_URL: httpUrl("https://control.msg91.com"),
  MSG91_TIMEOUT_MS: int(1000, 30_000, 10_000),
  TWOFACTOR_API_KEY: optionalText,
  TWOFACTOR_TEMPLATE_NAME: optionalText,
  TWOFACTOR_BASE_URL: httpUrl("https://2factor.in"),
  TWOFACTOR_TIMEOUT_MS: int(1000, 30_000, 10_000),
  CORS_ORIGINS: origins,
});

/** Every setting's name, in the order of the schema (README's settings table is checked against it). */
export const SETTING_NAMES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

/** What a setting is when it is not set: its default (undefined when it has none, or is required). */
export function settingDefault(name: (typeof SETTING_NAMES)[number]): unknown {
  const parsed = envSchema.shape[name].safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Checks that depend on other settings. They read the raw values so that they
 * run, and report, even when other settings are broken too.
 */
function dependentIssues(env: Record<string, unknown>): { name: string; message: string }[] {
  const str = (key: string) => (typeof env[key] === "string" ? (env[key] as string).trim() : "");
  const issues: { name: string; message: string }[] = [];
  if (!str("JWT_SECRET") && !str("JWT_PRIVATE_KEY")) {
    issues.push({
      name: "JWT_SECRET",
      message: "is missing (set JWT_SECRET, or JWT_PRIVATE_KEY for asymmetric tokens)",
    });
  }
  const named = csv(str("SMS_PROVIDERS")).map((g) => g.toLowerCase());
  const gateways = named.length > 0 ? named : [str("SMS_PROVIDER") || "fast2sms"];
  const via = named.length > 0 ? "SMS_PROVIDERS contains" : "SMS_PROVIDER is";
  const autofill = ["SMS_APP_HASH", "OTP_WEB_DOMAIN"].filter((name) => str(name) !== "");
  if (gateways.includes("fast2sms")) {
    if (!str("FAST2SMS_API_KEY")) {
      issues.push({ name: "FAST2SMS_API_KEY", message: `is required when ${via} fast2sms` });
    }
    const route = str("FAST2SMS_ROUTE") || "otp";
    if (route === "dlt") {
      if (!/^[A-Za-z]{3,6}$/.test(str("FAST2SMS_SENDER_ID"))) {
        issues.push({
          name: "FAST2SMS_SENDER_ID",
          message: "must be the 3-6 letter DLT sender id when FAST2SMS_ROUTE is dlt",
        });
      }
      if (!/^\d+$/.test(str("FAST2SMS_TEMPLATE_ID"))) {
        issues.push({
          name: "FAST2SMS_TEMPLATE_ID",
          message: "must be the numeric DLT message id when FAST2SMS_ROUTE is dlt",
        });
      }
    }
    if (route === "otp") {
      for (const name of autofill) {
        issues.push({
          name,
          message:
            "cannot be carried by Fast2SMS's otp route, whose text is fixed: use FAST2SMS_ROUTE q, or dlt with the template README shows",
        });
      }
    }
  }
  if (gateways.includes("msg91")) {
    if (!str("MSG91_AUTH_KEY")) issues.push({ name: "MSG91_AUTH_KEY", message: `is required when ${via} msg91` });
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(str("MSG91_TEMPLATE_ID"))) {
      issues.push({ name: "MSG91_TEMPLATE_ID", message: `must be the OTP template's id when ${via} msg91` });
    }
  }
  if (gateways.includes("twofactor")) {
    // The key is a segment of 2Factor's URL path: only characters that need no escaping.
    if (!/^[A-Za-z0-9-]{8,128}$/.test(str("TWOFACTOR_API_KEY"))) {
      issues.push({
        name: "TWOFACTOR_API_KEY",
        message: `is required when ${via} twofactor (letters, digits and dashes, as 2Factor issues it)`,
      });
    }
    if (!str("TWOFACTOR_TEMPLATE_NAME")) {
      for (const name of autofill) {
        issues.push({
          name,
          message:
            "cannot be carried by 2Factor's default text: set TWOFACTOR_TEMPLATE_NAME to a template that carries it (README shows it)",
        });
      }
    }
  }
  if (
    gateways.some((g) => g !== "console") &&
    csv(str("ALLOWED_COUNTRIES") || "IN").some((c) => c.toUpperCase() !== "IN")
  ) {
    issues.push({
      name: "ALLOWED_COUNTRIES",
      message: "may only contain IN with Fast2SMS, MSG91 or 2Factor, which this service uses for Indian numbers only",
    });
  }
  return issues;
}

type Parsed = z.output<typeof envSchema>;

/**
 * With a hash or a domain set, the message the service writes must stay
 * within the SMS Retriever's 140 bytes for the longest code (OTP_LENGTH
 * digits, twice): found here, before anything is sent.
 */
function autofillIssues(s: Parsed): { name: string; message: string }[] {
  if (!s.SMS_APP_HASH && !s.OTP_WEB_DOMAIN) return [];
  const autofill = { appHash: s.SMS_APP_HASH, webDomain: s.OTP_WEB_DOMAIN };
  const bytes = smsBytes(otpMessageText(s.APP_NAME, "0".repeat(s.OTP_LENGTH), autofill));
  if (bytes <= MAX_AUTOFILL_SMS_BYTES) return [];
  const message = `makes the autofill SMS ${bytes} bytes with OTP_LENGTH ${s.OTP_LENGTH}; at most ${MAX_AUTOFILL_SMS_BYTES} are read (shorten APP_NAME or OTP_WEB_DOMAIN)`;
  return ["APP_NAME", ...(s.OTP_WEB_DOMAIN ? ["OTP_WEB_DOMAIN"] : [])].map((name) => ({ name, message }));
}

/** The validated settings the rest of the service works with. */
export interface Settings {
  /** The first gateway of smsProviders (console only ever stands alone). */
  smsProvider: GatewayName;
  /** The gateways a send tries, in order: SMS_PROVIDERS, else SMS_PROVIDER alone. */
  smsProviders: readonly GatewayName[];
  /** How long one send may take across all the gateways it tries. */
  smsSendDeadlineMs: number;
  /** SMS Retriever hash and WebOTP / iOS domain, written into every message whose text the service writes. */
  autofill: Autofill;
  appName: string;
  allowedCountries: readonly CountryCode[];
  otp: {
    length: number;
    ttlSeconds: number;
    maxAttempts: number;
    /** Wrong guesses in 24 h at one number's codes that one client asked for, before that client gets no new code for it. */
    maxFailuresPerClientPerDay: number;
    /** Wrong guesses in 24 h at all of one number's codes, before nobody gets a new code for it (NIST 800-63B: at most 100). */
    maxFailuresPerNumberPerDay: number;
    /** Whether /verify-otp needs the verification_id from /send-otp (false: checks the newest live code, for old apps). */
    requireVerificationId: boolean;
    resendCooldownSeconds: number;
    /** Sends to one number that one client may ask for in any rolling hour (the cooldown is per client too). */
    maxSendsPerHour: number;
    /** Sends to one number from all clients in any rolling hour. */
    maxSendsPerNumberPerHour: number;
    maxSendsPerIpPerHour: number;
    hashSecret: string;
  };
  /** Global SMS cap per UTC day. */
  smsDailyBudget: number;
  /** How long a KV or Durable Object call may take before the request fails with 503. */
  storageTimeoutMs: number;
  /** Fixed codes for app-store reviewers and CI, keyed by E.164; no SMS and no budget for these. */
  testNumbers: ReadonlyMap<string, string>;
  /** Set when TURNSTILE_SECRET_KEY is: /send-otp then needs a valid `turnstile_token`. */
  turnstile:
    | {
        secretKey: string;
        siteverifyUrl: string;
        hostname: string | undefined;
        action: string | undefined;
        timeoutMs: number;
      }
    | undefined;
  jwt: {
    /** HS256 key, used when no private key is set. */
    secret: string | undefined;
    /** The current signing key (private JWK), when tokens are asymmetric. */
    privateKey: SigningJwk | undefined;
    /** Retired public keys still published in the JWKS. */
    previousPublicKeys: readonly SigningJwk[];
    issuer: string;
    audience: string;
    ttlSeconds: number;
  };
  /** Refresh-token sessions (src/domain/sessions/ and src/platform/sessions/). */
  sessions: {
    /** Idle lifetime: a session ends when not refreshed for this long. */
    refreshTtlSeconds: number;
    /** Absolute lifetime from the verify. */
    maxAgeSeconds: number;
    maxPerNumber: number;
    /** How long the immediately previous refresh token still answers with the same successor. */
    reuseGraceSeconds: number;
    maxRefreshesPerIpPerHour: number;
  };
  /** Set when FIREBASE_SERVICE_ACCOUNT is: verify-otp then also returns a Firebase custom token. */
  firebase: { clientEmail: string; privateKeyPem: string; projectId: string | undefined } | undefined;
  fast2sms: {
    apiKey: string | undefined;
    baseUrl: string;
    route: Parsed["FAST2SMS_ROUTE"];
    senderId: string | undefined;
    templateId: string | undefined;
    timeoutMs: number;
  };
  msg91: { authKey: string | undefined; templateId: string | undefined; baseUrl: string; timeoutMs: number };
  twofactor: { apiKey: string | undefined; templateName: string | undefined; baseUrl: string; timeoutMs: number };
  corsOrigins: readonly string[];
}

const cache = new WeakMap<object, Settings>();

/**
 * Validates the environment and returns the settings, or throws
 * MisconfiguredError naming every bad setting (never its value).
 * The result is cached per environment object, so this runs once per isolate.
 */
export function loadSettings(env: object): Settings {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = envSchema.safeParse(env);
  const issues = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => ({ name: String(i.path[0]), message: i.message }))),
    ...dependentIssues(env as Record<string, unknown>),
    ...(parsed.success ? autofillIssues(parsed.data) : []),
  ];
  if (!parsed.success || issues.length > 0) {
    const names = [...new Set(issues.map((i) => i.name))].sort();
    throw new MisconfiguredError(names, { cause: issues.map((i) => `${i.name} ${i.message}`).join("; ") });
  }
  const s = parsed.data;
  const testNumbers = new Map<string, string>();
  for (const { phone, code } of s.TEST_PHONE_NUMBERS) {
    let e164: string;
    try {
      e164 = normalizePhone(phone, s.ALLOWED_COUNTRIES).e164;
    } catch {
      throw new MisconfiguredError(["TEST_PHONE_NUMBERS"], {
        cause: "TEST_PHONE_NUMBERS has a number that is not a valid allowed mobile number",
      });
    }
    if (code.length !== s.OTP_LENGTH) {
      throw new MisconfiguredError(["TEST_PHONE_NUMBERS"], {
        cause: "TEST_PHONE_NUMBERS has a code whose length is not OTP_LENGTH",
      });
    }
    testNumbers.set(e164, code);
  }
  const smsProviders = s.SMS_PROVIDERS.length > 0 ? s.SMS_PROVIDERS : [s.SMS_PROVIDER];
  const settings: Settings = {
    smsProvider: smsProviders[0]!,
    smsProviders,
    smsSendDeadlineMs: s.SMS_SEND_DEADLINE_MS,
    autofill: { appHash: s.SMS_APP_HASH, webDomain: s.OTP_WEB_DOMAIN },
    appName: s.APP_NAME,
    allowedCountries: s.ALLOWED_COUNTRIES,
    otp: {
      length: s.OTP_LENGTH,
      ttlSeconds: s.OTP_TTL_SECONDS,
      maxAttempts: s.OTP_MAX_ATTEMPTS,
      maxFailuresPerClientPerDay: s.OTP_MAX_FAILURES_PER_DAY,
      maxFailuresPerNumberPerDay: s.OTP_MAX_FAILURES_PER_NUMBER_PER_DAY,
      requireVerificationId: s.OTP_REQUIRE_VERIFICATION_ID,
      resendCooldownSeconds: s.OTP_RESEND_COOLDOWN_SECONDS,
      maxSendsPerHour: s.OTP_MAX_SENDS_PER_HOUR,
      maxSendsPerNumberPerHour: s.OTP_MAX_SENDS_PER_NUMBER_PER_HOUR,
      maxSendsPerIpPerHour: s.OTP_MAX_SENDS_PER_IP_PER_HOUR,
      hashSecret: s.OTP_HASH_SECRET,
    },
    smsDailyBudget: s.SMS_DAILY_BUDGET,
    storageTimeoutMs: s.STORAGE_TIMEOUT_MS,
    testNumbers,
    turnstile: s.TURNSTILE_SECRET_KEY
      ? {
          secretKey: s.TURNSTILE_SECRET_KEY,
          siteverifyUrl: s.TURNSTILE_SITEVERIFY_URL,
          hostname: s.TURNSTILE_EXPECTED_HOSTNAME,
          action: s.TURNSTILE_EXPECTED_ACTION,
          timeoutMs: s.TURNSTILE_TIMEOUT_MS,
        }
      : undefined,
    jwt: {
      secret: s.JWT_SECRET,
      privateKey: s.JWT_PRIVATE_KEY,
      previousPublicKeys: s.JWT_PREVIOUS_PUBLIC_KEYS ?? [],
      issuer: s.JWT_ISSUER,
      audience: s.JWT_AUDIENCE,
      ttlSeconds: s.JWT_TTL_SECONDS,
    },
    sessions: {
      refreshTtlSeconds: s.REFRESH_TOKEN_TTL_SECONDS,
      maxAgeSeconds: s.SESSION_MAX_AGE_SECONDS,
      maxPerNumber: s.SESSIONS_MAX_PER_NUMBER,
      reuseGraceSeconds: s.REFRESH_REUSE_GRACE_SECONDS,
      maxRefreshesPerIpPerHour: s.REFRESH_MAX_PER_IP_PER_HOUR,
    },
    fast2sms: {
      apiKey: s.FAST2SMS_API_KEY,
      baseUrl: s.FAST2SMS_BASE_URL,
      route: s.FAST2SMS_ROUTE,
      senderId: s.FAST2SMS_SENDER_ID,
      templateId: s.FAST2SMS_TEMPLATE_ID,
      timeoutMs: s.FAST2SMS_TIMEOUT_MS,
    },
    msg91: {
      authKey: s.MSG91_AUTH_KEY,
      templateId: s.MSG91_TEMPLATE_ID,
      baseUrl: s.MSG91_BASE_URL,
      timeoutMs: s.MSG91_TIMEOUT_MS,
    },
    twofactor: {
      apiKey: s.TWOFACTOR_API_KEY,
      templateName: s.TWOFACTOR_TEMPLATE_NAME,
      baseUrl: s.TWOFACTOR_BASE_URL,
      timeoutMs: s.TWOFACTOR_TIMEOUT_MS,
    },
    firebase: s.FIREBASE_SERVICE_ACCOUNT && {
      clientEmail: s.FIREBASE_SERVICE_ACCOUNT.client_email,
      privateKeyPem: s.FIREBASE_SERVICE_ACCOUNT.private_key,
      projectId: s.FIREBASE_SERVICE_ACCOUNT.project_id,
    },
    corsOrigins: s.CORS_ORIGINS,
  };
  cache.set(env, settings);
  return settings;
}
