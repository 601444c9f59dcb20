import * as z from "zod/mini";
import type { Autofill } from "../otp-message";
import { type GatewayName, gatewayList } from "./gateways";
import { privateSigningJwk, publicSigningJwk, serviceAccount } from "./key-schemas";
import {
  adminToken,
  appHash,
  asnList,
  bool,
  countries,
  group,
  host,
  httpUrl,
  int,
  json,
  locationHint,
  numberList,
  oneOf,
  optionalSecret,
  optionalText,
  origins,
  secret,
  testNumbers,
  text,
  urlSecret,
} from "./readers";
import { supabaseHookSecrets, webhookUrl, whsecSecret } from "./webhook-readers";

/**
 * The settings, one group per concern (the gateways' are in gateways.ts).
 * Each group is a zod schema over the environment variables it reads (each
 * written once here, with its default in its reader) whose output is exactly
 * what modules receive, with the checks that concern only that group;
 * `Settings` is inferred from them, so there is no second declaration to
 * keep in step. Checks across groups are in settings.ts.
 */
export const SETTINGS_GROUPS = {
  /** The service as a whole: its gateways, its name and countries, the day's budget, storage deadlines, CORS. */
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
      STATS_FLUSH_MS: int(0, 20_000, 2000),
      CORS_ORIGINS: origins,
    },
    (e) => {
      const smsGateways: readonly GatewayName[] = e.SMS_PROVIDERS.length > 0 ? e.SMS_PROVIDERS : [e.SMS_PROVIDER];
      const autofill: Autofill = { appHash: e.SMS_APP_HASH, webDomain: e.OTP_WEB_DOMAIN };
      return {
        /** The first gateway of smsGateways (console only ever stands alone). */
        smsGateway: smsGateways[0]!,
        /** The gateways a send tries, in order: SMS_PROVIDERS, else SMS_PROVIDER alone. */
        smsGateways,
        /** How long one send may take across all the gateways it tries. */
        smsSendDeadlineMs: e.SMS_SEND_DEADLINE_MS,
        /** SMS Retriever hash and WebOTP / iOS domain, written into every message whose text the service writes. */
        autofill,
        appName: e.APP_NAME,
        allowedCountries: e.ALLOWED_COUNTRIES,
        /** Global SMS cap per UTC day. */
        smsDailyBudget: e.SMS_DAILY_BUDGET,
        /** How long a KV or Durable Object call may take before the request fails with 503. */
        storageTimeoutMs: e.STORAGE_TIMEOUT_MS,
        /** How long an isolate gathers the operator's counts before one write per day and shard (0: each event at once). */
        statsFlushMs: e.STATS_FLUSH_MS,
        corsOrigins: e.CORS_ORIGINS,
      };
    },
  ),
  /** Codes: their length, life and tries, and the per-number and per-client limits on sends and verifies. */
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
    (otp) =>
      otp.maxSendRequestsPerIpPerHour < otp.maxSendsPerIpPerHour
        ? [
            {
              name: "OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR",
              message: "must be at least OTP_MAX_SENDS_PER_IP_PER_HOUR (every send is also a request)",
            },
          ]
        : [],
  ),
  /** How SMS_DAILY_BUDGET is sharded, paced and placed (src/domain/guards/send-quotas.ts). */
  budget: group(
    {
      SMS_BUDGET_SHARDS: int(1, 256, 8),
      SMS_BUDGET_HOURLY_PERCENT: int(1, 100, 10),
      SMS_BUDGET_RETRY_SPREAD_SECONDS: int(0, 3600, 900),
      SMS_BUDGET_LOCATION_HINT: locationHint("apac"),
    },
    (e) => ({
      /** Durable Objects SMS_DAILY_BUDGET is split between (and the per-network hourly counts). */
      shards: e.SMS_BUDGET_SHARDS,
      /** Percent of the day's budget released each UTC hour, cumulatively (100: all of it at 00:00 UTC). */
      hourlyPercent: e.SMS_BUDGET_HOURLY_PERCENT,
      /** A refusal's Retry-After is the moment more budget is released plus up to this many random seconds. */
      retrySpreadSeconds: e.SMS_BUDGET_RETRY_SPREAD_SECONDS,
      /** Where the shards are placed (SMS_BUDGET_LOCATION_HINT; undefined for none: wherever each is first used). */
      locationHint: e.SMS_BUDGET_LOCATION_HINT,
    }),
  ),
  /** Per-client limits that fit IPv6 and carrier NAT, and the trusted proxy. */
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
      carrierAsns: e.CARRIER_ASNS,
      /** Sends per IPv4 address of a CARRIER_ASNS network per rolling hour, instead of OTP_MAX_SENDS_PER_IP_PER_HOUR. */
      maxSendsPerCarrierIpPerHour: e.OTP_MAX_SENDS_PER_CARRIER_IP_PER_HOUR,
      /** Sends per UTC hour from one network that is not in CARRIER_ASNS (0: no limit). */
      maxSendsPerAsnPerHour: e.OTP_MAX_SENDS_PER_ASN_PER_HOUR,
      /** Shared with an app's backend that passes its user's address in X-OTP-Client-IP. */
      trustedProxySecret: e.TRUSTED_PROXY_SECRET,
    }),
  ),
  /** The fraud guard on number ranges (src/domain/guards/range-guard.ts; docs/fraud.md). */
  fraud: group(
    {
      FRAUD_GUARD: oneOf(["on", "off"], "on"),
      FRAUD_RANGE_DROP_DIGITS: int(2, 5, 3),
      FRAUD_RANGE_MAX_UNVERIFIED: int(5, 10_000, 20),
      FRAUD_BLOCK_MINUTES: int(1, 1440, 60),
      FRAUD_SAFE_LIST: numberList,
    },
    (e) => ({
      enabled: e.FRAUD_GUARD === "on",
      /** A range is the E.164 number without this many last digits. */
      dropDigits: e.FRAUD_RANGE_DROP_DIGITS,
      /** Unverified codes a range may be sent within an hour; the next send is refused and blocks the range. */
      maxUnverified: e.FRAUD_RANGE_MAX_UNVERIFIED,
      /** A first block's length; each further block of the range within a day doubles it, at most 24 hours. */
      blockMinutes: e.FRAUD_BLOCK_MINUTES,
      /** Numbers (E.164) and number prefixes that are never counted or blocked. */
      safeNumbers: e.FRAUD_SAFE_LIST.numbers,
      safePrefixes: e.FRAUD_SAFE_LIST.prefixes,
    }),
  ),
  /** TEST_PHONE_NUMBERS as read; settings.ts checks them and keys them by E.164. */
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
      secret: e.JWT_SECRET,
      /** The current signing key (private JWK), when tokens are asymmetric. */
      privateKey: e.JWT_PRIVATE_KEY,
      /** Retired public keys still published in the JWKS. */
      previousPublicKeys: e.JWT_PREVIOUS_PUBLIC_KEYS ?? [],
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      ttlSeconds: e.JWT_TTL_SECONDS,
    }),
    (jwt) =>
      jwt.secret === undefined && jwt.privateKey === undefined
        ? [{ name: "JWT_SECRET", message: "is missing (set JWT_SECRET, or JWT_PRIVATE_KEY for asymmetric tokens)" }]
        : [],
  ),
  /** Refresh-token sessions (src/domain/sessions/). */
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
  /** The operator's API and dashboard (/admin), when ADMIN_TOKEN is set. */
  admin: group(
    { ADMIN_TOKEN: adminToken },
    /** Set when ADMIN_TOKEN is: only then do /admin and everything under it exist. */
    (e) => (e.ADMIN_TOKEN === undefined ? undefined : { token: e.ADMIN_TOKEN }),
  ),
  /** Delivery reports from the gateways (POST /webhooks/{gateway}/{DELIVERY_WEBHOOK_SECRET}), when the secret is set. */
  delivery: group(
    {
      DELIVERY_WEBHOOK_SECRET: urlSecret,
      DELIVERY_TIMEOUT_SECONDS: int(2, 600, 30),
      DELIVERY_MAX_MESSAGES: int(1, 10, 3),
    },
    (e) => ({
      /** Set when DELIVERY_WEBHOOK_SECRET is: only then does the webhook exist, and gateway SMS are followed to the phone. */
      webhookSecret: e.DELIVERY_WEBHOOK_SECRET,
      /** How long a followed message may stay undelivered before the same code goes out on the next gateway of its route. */
      timeoutSeconds: e.DELIVERY_TIMEOUT_SECONDS,
      /** The most messages (the first and its fallbacks) one code is sent in. */
      maxMessages: e.DELIVERY_MAX_MESSAGES,
    }),
  ),
  /**
   * WhatsApp as a channel (the Cloud API's authentication template), when the token, the phone number id
   * and the template name are set; a partial set is a settings error naming what is missing.
   */
  whatsapp: group(
    {
      WHATSAPP_ACCESS_TOKEN: optionalText,
      WHATSAPP_PHONE_NUMBER_ID: optionalText,
      WHATSAPP_TEMPLATE_NAME: optionalText,
      WHATSAPP_TEMPLATE_LANGUAGE: text("en"),
      WHATSAPP_APP_SECRET: optionalText,
      WHATSAPP_VERIFY_TOKEN: optionalText,
      WHATSAPP_BASE_URL: httpUrl("https://graph.facebook.com"),
      WHATSAPP_API_VERSION: text("v25.0"),
      WHATSAPP_TIMEOUT_MS: int(1000, 30_000, 10_000),
    },
    (e) =>
      e.WHATSAPP_ACCESS_TOKEN === undefined ||
      e.WHATSAPP_PHONE_NUMBER_ID === undefined ||
      e.WHATSAPP_TEMPLATE_NAME === undefined
        ? undefined
        : {
            accessToken: e.WHATSAPP_ACCESS_TOKEN,
            phoneNumberId: e.WHATSAPP_PHONE_NUMBER_ID,
            templateName: e.WHATSAPP_TEMPLATE_NAME,
            language: e.WHATSAPP_TEMPLATE_LANGUAGE,
            /** Signs Meta's webhooks (X-Hub-Signature-256); without it every POST /webhooks/whatsapp is 401. */
            appSecret: e.WHATSAPP_APP_SECRET ?? "",
            /** What Meta's handshake must present; without it every handshake is 403. */
            verifyToken: e.WHATSAPP_VERIFY_TOKEN ?? "",
            baseUrl: e.WHATSAPP_BASE_URL,
            apiVersion: e.WHATSAPP_API_VERSION,
            timeoutMs: e.WHATSAPP_TIMEOUT_MS,
          },
    (_value, e) => {
      const required = ["WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_TEMPLATE_NAME"] as const;
      const set = required.filter((name) => e[name] !== undefined);
      const issues: { name: string; message: string }[] =
        set.length === 0 || set.length === required.length
          ? []
          : required
              .filter((name) => e[name] === undefined)
              .map((name) => ({
                name,
                message: `is missing: WhatsApp needs ${required.join(", ")} together (${set.join(", ")} ${set.length === 1 ? "is" : "are"} set)`,
              }));
      if (e.WHATSAPP_PHONE_NUMBER_ID !== undefined && !/^\d{1,32}$/.test(e.WHATSAPP_PHONE_NUMBER_ID)) {
        issues.push({
          name: "WHATSAPP_PHONE_NUMBER_ID",
          message: "must be the phone number's numeric id (not the number)",
        });
      }
      if (!/^v\d{1,3}\.\d{1,2}$/.test(e.WHATSAPP_API_VERSION)) {
        issues.push({ name: "WHATSAPP_API_VERSION", message: "must be a Graph API version such as v25.0" });
      }
      return issues;
    },
  ),
  /** Signed events to the app's backend (Standard Webhooks, through EVENTS_QUEUE), when the URL and secret are set. */
  events: group(
    {
      EVENTS_WEBHOOK_URL: webhookUrl,
      EVENTS_WEBHOOK_SECRET: whsecSecret,
      EVENTS_WEBHOOK_TIMEOUT_MS: int(1000, 30_000, 10_000),
    },
    (e) =>
      e.EVENTS_WEBHOOK_URL === undefined || e.EVENTS_WEBHOOK_SECRET === undefined
        ? undefined
        : {
            url: e.EVENTS_WEBHOOK_URL,
            /** The key bytes of the whsec_ secret. */
            secret: e.EVENTS_WEBHOOK_SECRET,
            /** How long one delivery attempt may take before it is retried. */
            timeoutMs: e.EVENTS_WEBHOOK_TIMEOUT_MS,
          },
    (_value, e) =>
      (e.EVENTS_WEBHOOK_URL === undefined) === (e.EVENTS_WEBHOOK_SECRET === undefined)
        ? []
        : [
            {
              name: e.EVENTS_WEBHOOK_URL === undefined ? "EVENTS_WEBHOOK_URL" : "EVENTS_WEBHOOK_SECRET",
              message: "is missing: events need EVENTS_WEBHOOK_URL and EVENTS_WEBHOOK_SECRET together",
            },
          ],
  ),
  /** Supabase Auth's Send SMS hook (POST /hooks/supabase/send-sms), when its secret is set. */
  supabase: group(
    {
      SUPABASE_SMS_HOOK_SECRET: supabaseHookSecrets,
      SUPABASE_SMS_HOOK_MAX_SENDS_PER_HOUR: int(1, 10_000_000, 1000),
    },
    /** Set when SUPABASE_SMS_HOOK_SECRET is: only then does the hook exist. */
    (e) =>
      e.SUPABASE_SMS_HOOK_SECRET === undefined
        ? undefined
        : {
            /** The key bytes of each secret (several while one is rotated). */
            hookSecrets: e.SUPABASE_SMS_HOOK_SECRET,
            /** Supabase is one client: its sends in any rolling hour, in place of OTP_MAX_SENDS_PER_IP_PER_HOUR. */
            maxSendsPerHour: e.SUPABASE_SMS_HOOK_MAX_SENDS_PER_HOUR,
          },
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
            projectId: e.FIREBASE_SERVICE_ACCOUNT.project_id,
          },
  ),
};
