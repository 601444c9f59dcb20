import type { GatewayName, Settings } from "../../kernel/config/settings";
import { memoizeByObject } from "../../kernel/memo";
import { createConsoleGateway } from "./console-gateway";
import { createFailoverGateway } from "./failover-gateway";
import { createFast2SmsGateway } from "./fast2sms-gateway";
import { createMsg91Gateway } from "./msg91-gateway";
import type { SmsGateway } from "./sms-gateway";
import { createTwoFactorGateway } from "./twofactor-gateway";

function gateway(name: GatewayName, settings: Settings): SmsGateway {
  switch (name) {
    case "fast2sms":
      return createFast2SmsGateway(settings.fast2sms);
    case "msg91":
      return createMsg91Gateway(settings.msg91);
    case "twofactor":
      return createTwoFactorGateway(settings.twofactor);
    case "console":
      return createConsoleGateway();
  }
}

/**
 * The gateways SMS_PROVIDERS (or SMS_PROVIDER) names, in order, behind one
 * failover gateway with its circuit breakers: built once per settings object,
 * so the breakers live as long as the isolate's settings.
 */
export const smsGatewayFor: (settings: Settings) => SmsGateway = memoizeByObject((settings: Settings) =>
  createFailoverGateway(
    settings.smsGateways.map((name) => gateway(name, settings)),
    { deadlineMs: settings.smsSendDeadlineMs },
  ),
);
