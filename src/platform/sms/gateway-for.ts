import type { GatewayName, GatewaySettings, Settings } from "../../kernel/config/settings";
import { memoizeByObject } from "../../kernel/memo";
import { createConsoleGateway } from "./console-gateway";
import { createFailoverGateway } from "./failover-gateway";
import { createFast2SmsGateway } from "./fast2sms-gateway";
import { ISOLATE_BREAKERS } from "./gateway-breakers";
import { createMsg91Gateway } from "./msg91-gateway";
import type { Channel, SmsGateway } from "./sms-gateway";
import { createTwoFactorGateway } from "./twofactor-gateway";
import { createWhatsAppGateway } from "./whatsapp-gateway";

/**
 * How each gateway of the registry (src/kernel/config/gateways.ts) is made
 * from its own settings: one constructor per name, so a gateway added there
 * does not compile until it is here.
 */
const CREATE: { readonly [N in GatewayName]: (settings: GatewaySettings[N]) => SmsGateway } = {
  fast2sms: createFast2SmsGateway,
  msg91: createMsg91Gateway,
  twofactor: createTwoFactorGateway,
  console: createConsoleGateway,
};

function create<N extends GatewayName>(name: N, settings: Settings): SmsGateway {
  return CREATE[name](settings.gateways[name]);
}

/**
 * The gateways SMS_PROVIDERS (or SMS_PROVIDER) names, in order, behind one
 * failover gateway with the isolate's circuit breakers (gateway-breakers.ts,
 * shared with the due fallbacks): built once per settings object. With WhatsApp
 * configured, its gateway serves the `whatsapp` channel, which falls back to
 * the SMS gateways in order, with the same code, within the send.
 */
export const smsGatewayFor: (settings: Settings) => SmsGateway = memoizeByObject((settings: Settings) =>
  createFailoverGateway(
    [
      ...(settings.whatsapp ? [createWhatsAppGateway(settings.whatsapp)] : []),
      ...settings.smsGateways.map((name) => create(name, settings)),
    ],
    { deadlineMs: settings.smsSendDeadlineMs, fallback: { whatsapp: "sms" }, breakers: ISOLATE_BREAKERS },
  ),
);

/** The gateways of SMS_PROVIDERS, each on its own (no failover, no breaker): built once per settings object. */
const gatewaysOf: (settings: Settings) => ReadonlyMap<string, SmsGateway> = memoizeByObject(
  (settings: Settings) => new Map(settings.smsGateways.map((name) => [name, create(name, settings)] as const)),
);

/**
 * One gateway by its name, on its own, from its own settings (one of
 * SMS_PROVIDERS as built for the route, else made here); undefined for a
 * name the registry does not know.
 */
export function gatewayNamed(settings: Settings, name: string): SmsGateway | undefined {
  const known = gatewaysOf(settings).get(name);
  if (known) return known;
  return Object.hasOwn(CREATE, name) ? create(name as GatewayName, settings) : undefined;
}

/**
 * A channel's whole route, in the configured order: for `whatsapp`, WhatsApp
 * and then the SMS gateways on `sms`; for `sms` and `voice`, the gateways of
 * SMS_PROVIDERS that deliver on it.
 */
export function deliveryRoute(settings: Settings, channel: Channel): { gateway: string; channel: Channel }[] {
  const on = (c: Channel) =>
    [...gatewaysOf(settings).values()]
      .filter((g) => g.channels.includes(c))
      .map((g) => ({ gateway: g.name, channel: c }));
  if (channel !== "whatsapp") return on(channel);
  return [...(settings.whatsapp ? [{ gateway: "whatsapp", channel }] : []), ...on("sms")];
}
