import type { CountryCode } from "libphonenumber-js/mobile";
import type { Autofill } from "../otp-message";
import {
  csv,
  either,
  type Group,
  type GroupValues,
  group,
  httpUrl,
  type Issue,
  int,
  oneOf,
  optionalText,
  setting,
} from "./readers";

/**
 * The SMS gateways, one entry per gateway, keyed by the name SMS_PROVIDERS
 * gives it: its settings group (what src/platform/sms/<name>-gateway.ts
 * receives, as `settings.gateways.<name>`) and the checks its settings need
 * when a send uses it. A new gateway is an entry here plus its file in
 * src/platform/sms/ (and its constructor in gateway-for.ts, which the
 * compiler asks for).
 */

/** What a gateway's checks know of the other settings. */
export interface GatewayContext {
  /** How a message says the gateway was chosen: `SMS_PROVIDERS contains` or `SMS_PROVIDER is`. */
  via: string;
  /** The autofill settings that are set (SMS_APP_HASH, OTP_WEB_DOMAIN): a gateway whose text is fixed cannot carry them. */
  autofill: readonly string[];
}

export interface GatewayEntry<T> extends Group<T> {
  /** The gateway's name in messages to the operator. */
  readonly label: string;
  /** Set when this service uses the gateway for Indian numbers only (ALLOWED_COUNTRIES must then be IN alone). */
  readonly indiaOnly?: true;
  /** Set, to the reason, when SMS_PROVIDERS may name it only alone. */
  readonly alone?: string;
  /** Problems with its settings when a send uses it (SMS_PROVIDERS names it). */
  readonly check?: (settings: T, context: GatewayContext) => Issue[];
}

function gateway<T>(settings: Group<T>, about: Omit<GatewayEntry<T>, keyof Group<T>>): GatewayEntry<T> {
  return { ...about, shape: settings.shape, read: settings.read };
}

const ENTRIES = {
  fast2sms: gateway(
    group(
      {
        FAST2SMS_API_KEY: optionalText,
        FAST2SMS_BASE_URL: httpUrl("https://www.fast2sms.com"),
        FAST2SMS_ROUTE: oneOf(["otp", "q", "dlt"], "otp"),
        FAST2SMS_SENDER_ID: optionalText,
        FAST2SMS_TEMPLATE_ID: optionalText,
        FAST2SMS_TIMEOUT_MS: int(1000, 30_000, 10_000),
      },
      (e) => ({
        apiKey: e.FAST2SMS_API_KEY,
        baseUrl: e.FAST2SMS_BASE_URL,
        route: e.FAST2SMS_ROUTE,
        senderId: e.FAST2SMS_SENDER_ID,
        templateId: e.FAST2SMS_TEMPLATE_ID,
        timeoutMs: e.FAST2SMS_TIMEOUT_MS,
      }),
    ),
    {
      label: "Fast2SMS",
      indiaOnly: true,
      check(cfg, { via, autofill }) {
        const issues: Issue[] = [];
        if (cfg.apiKey === undefined) {
          issues.push({ name: "FAST2SMS_API_KEY", message: `is required when ${via} fast2sms` });
        }
        if (cfg.route === "dlt") {
          if (!/^[A-Za-z]{3,6}$/.test(cfg.senderId ?? "")) {
            issues.push({
              name: "FAST2SMS_SENDER_ID",
              message: "must be the 3-6 letter DLT sender id when FAST2SMS_ROUTE is dlt",
            });
          }
          if (!/^\d+$/.test(cfg.templateId ?? "")) {
            issues.push({
              name: "FAST2SMS_TEMPLATE_ID",
              message: "must be the numeric DLT message id when FAST2SMS_ROUTE is dlt",
            });
          }
        }
        if (cfg.route === "otp") {
          for (const name of autofill) {
            issues.push({
              name,
              message:
                "cannot be carried by Fast2SMS's otp route, whose text is fixed: use FAST2SMS_ROUTE q, or dlt with the template README shows",
            });
          }
        }
        return issues;
      },
    },
  ),
  msg91: gateway(
    group(
      {
        MSG91_AUTH_KEY: optionalText,
        MSG91_TEMPLATE_ID: optionalText,
        MSG91_BASE_URL: httpUrl("https://control.msg91.com"),
        MSG91_TIMEOUT_MS: int(1000, 30_000, 10_000),
      },
      (e) => ({
        authKey: e.MSG91_AUTH_KEY,
        templateId: e.MSG91_TEMPLATE_ID,
        baseUrl: e.MSG91_BASE_URL,
        timeoutMs: e.MSG91_TIMEOUT_MS,
      }),
    ),
    {
      label: "MSG91",
      indiaOnly: true,
      check(cfg, { via }) {
        const issues: Issue[] = [];
        if (cfg.authKey === undefined)
          issues.push({ name: "MSG91_AUTH_KEY", message: `is required when ${via} msg91` });
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(cfg.templateId ?? "")) {
          issues.push({ name: "MSG91_TEMPLATE_ID", message: `must be the OTP template's id when ${via} msg91` });
        }
        return issues;
      },
    },
  ),
  twofactor: gateway(
    group(
      {
        TWOFACTOR_API_KEY: optionalText,
        TWOFACTOR_TEMPLATE_NAME: optionalText,
        TWOFACTOR_BASE_URL: httpUrl("https://2factor.in"),
        TWOFACTOR_TIMEOUT_MS: int(1000, 30_000, 10_000),
      },
      (e) => ({
        apiKey: e.TWOFACTOR_API_KEY,
        templateName: e.TWOFACTOR_TEMPLATE_NAME,
        baseUrl: e.TWOFACTOR_BASE_URL,
        timeoutMs: e.TWOFACTOR_TIMEOUT_MS,
      }),
    ),
    {
      label: "2Factor",
      indiaOnly: true,
      check(cfg, { via, autofill }) {
        const issues: Issue[] = [];
        // The key is a segment of 2Factor's URL path: only characters that need no escaping.
        if (!/^[A-Za-z0-9-]{8,128}$/.test(cfg.apiKey ?? "")) {
          issues.push({
            name: "TWOFACTOR_API_KEY",
            message: `is required when ${via} twofactor (letters, digits and dashes, as 2Factor issues it)`,
          });
        }
        if (cfg.templateName === undefined) {
          for (const name of autofill) {
            issues.push({
              name,
              message:
                "cannot be carried by 2Factor's default text: set TWOFACTOR_TEMPLATE_NAME to a template that carries it (README shows it)",
            });
          }
        }
        return issues;
      },
    },
  ),
  /**
   * Local development: sends nothing (the dev outbox keeps the text), and makes up the delivery report a
   * gateway would send: delivered 1 s after the send by default, failed, or none at all (silent).
   */
  console: gateway(
    group({ CONSOLE_DELIVERY: oneOf(["delivered", "failed", "silent"], "delivered") }, (e) => ({
      delivery: e.CONSOLE_DELIVERY,
    })),
    { label: "console", alone: "it sends nothing" },
  ),
};

/** What each gateway receives, by its name (`settings.gateways`). */
export type GatewaySettings = GroupValues<typeof ENTRIES>;

/** Every gateway SMS_PROVIDERS may name. */
export type GatewayName = keyof GatewaySettings;

/** The registry, typed so that each entry's settings and checks go together by name. */
export const GATEWAYS: { readonly [N in GatewayName]: GatewayEntry<GatewaySettings[N]> } = ENTRIES;

const isGatewayName = (name: string): name is GatewayName => Object.hasOwn(GATEWAYS, name);

/** The gateways' names, in the registry's order. */
export const GATEWAY_NAMES: readonly GatewayName[] = Object.keys(GATEWAYS).filter(isGatewayName);

/** `fast2sms,msg91,twofactor`: the gateways a send tries, in order (empty: SMS_PROVIDER alone). */
export const gatewayList = setting((v, problem): readonly GatewayName[] => {
  const list = csv(v).map((g) => g.toLowerCase());
  const names = list.filter(isGatewayName);
  if (names.length !== list.length) return problem(`must be a comma-separated list of ${GATEWAY_NAMES.join(", ")}`);
  if (new Set(names).size !== names.length) return problem("names a gateway twice");
  for (const name of names) {
    const alone = GATEWAYS[name].alone;
    if (alone !== undefined && names.length > 1) return problem(`may name ${name} only alone (${alone})`);
  }
  return names;
});

function checkGateway<N extends GatewayName>(name: N, settings: GatewaySettings[N], context: GatewayContext): Issue[] {
  return GATEWAYS[name].check?.(settings, context) ?? [];
}

/**
 * The checks of the gateways a send uses (`used`, SMS_PROVIDERS or
 * SMS_PROVIDER), on those whose settings parsed (the others reported their
 * own problems), and ALLOWED_COUNTRIES against the gateways used for Indian
 * numbers only.
 */
export function gatewayIssues(
  used: readonly GatewayName[],
  parsed: Partial<GatewaySettings>,
  autofill: Autofill,
  allowedCountries: readonly CountryCode[],
): Issue[] {
  const issues: Issue[] = [];
  const context: GatewayContext = {
    via: used.length > 1 || used[0] !== "fast2sms" ? "SMS_PROVIDERS contains" : "SMS_PROVIDER is",
    autofill: [...(autofill.appHash ? ["SMS_APP_HASH"] : []), ...(autofill.webDomain ? ["OTP_WEB_DOMAIN"] : [])],
  };
  for (const name of GATEWAY_NAMES) {
    const settings = parsed[name];
    if (used.includes(name) && settings !== undefined) issues.push(...checkGateway(name, settings, context));
  }
  if (used.some((name) => GATEWAYS[name].indiaOnly) && allowedCountries.some((c) => c !== "IN")) {
    const indian = GATEWAY_NAMES.filter((name) => GATEWAYS[name].indiaOnly).map((name) => GATEWAYS[name].label);
    issues.push({
      name: "ALLOWED_COUNTRIES",
      message: `may only contain IN with ${either(indian)}, which this service uses for Indian numbers only`,
    });
  }
  return issues;
}
