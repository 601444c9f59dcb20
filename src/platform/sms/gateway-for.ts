import type { Settings } from "../../kernel/config/settings";
import { memoizeByObject } from "../../kernel/memo";
import { createConsoleProvider } from "./console-provider";
import { createFast2SmsProvider } from "./fast2sms-provider";
import type { SmsProvider } from "./sms-provider";

/** The gateway SMS_PROVIDER names, built once per settings object. */
export const smsGatewayFor: (settings: Settings) => SmsProvider = memoizeByObject((settings: Settings) =>
  settings.smsProvider === "console" ? createConsoleProvider() : createFast2SmsProvider(settings.fast2sms),
);
