import type { GatewayName, GatewaySettings, Settings } from "../../kernel/config/settings";
import { memoizeByObject } from "../../kernel/memo";
import { createConsoleGateway } from "./console-gateway";
import { createFailoverGateway } from "./failover-gateway";
import { createFast2SmsGateway } from "./fast2sms-gateway";
import { createMsg91Gateway } from "./msg91-gateway";
import type { SmsGateway } from "./sms-gateway";
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
 * failover gateway with its circuit breakers: built once per settings object,
 * so the breakers live as long as the isolate's settings. With WhatsApp
 * configured, its gateway serves the `whatsapp` channel, which falls back to
 * the SMS gateways in order, with the same code, within the send.
 */
export const smsGatewayFor: (settings: Settings) => SmsGateway = memoizeByObject((settings: Settings) =>
  createFailoverGateway(
    [
      ...(settings.whatsapp ? [createWhatsAppGateway(settings.whatsapp)] : []),
      ...settings.smsGateways.map((name) => create(name, settings)),
    ],
    { deadlineMs: settings.smsSendDeadlineMs, fallback: { whatsapp: "sms" } },
  ),
);
