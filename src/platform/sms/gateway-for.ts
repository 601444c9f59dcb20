import type { GatewayName, Settings } from "../../kernel/config/settings";
import { memoizeByObject } from "../../kernel/memo";
import { createConsoleProvider } from "./console-provider";
import { createFailoverGateway } from "./failover-gateway";
import { createFast2SmsProvider } from "./fast2sms-provider";
import { createMsg91Provider } from "./msg91-provider";
import type { SmsProvider } from "./sms-provider";
import { createTwoFactorProvider } from "./twofactor-provider";

function gateway(name: GatewayName, settings: Settings): SmsProvider {
  switch (name) {
    case "fast2sms":
      return createFast2SmsProvider(settings.fast2sms);
    case "msg91":
      return createMsg91Provider(settings.msg91);
    case "twofactor":
      return createTwoFactorProvider(settings.twofactor);
    case "console":
      return createConsoleProvider();
  }
}

/**
 * The gateways SMS_PROVIDERS (or SMS_PROVIDER) names, in order, behind one
 * failover gateway with its circuit breakers: built once per settings object,
 * so the breakers live as long as the isolate's settings.
 */
export const smsGatewayFor: (settings: Settings) => SmsProvider = memoizeByObject((settings: Settings) =>
  createFailoverGateway(
    settings.smsProviders.map((name) => gateway(name, settings)),
    { deadlineMs: settings.smsSendDeadlineMs },
  ),
);
