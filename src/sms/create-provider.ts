import type { Settings } from "../config/settings";
import { createConsoleProvider } from "./console-provider";
import { createFast2SmsProvider } from "./fast2sms-provider";
import type { SmsProvider } from "./sms-provider";

const providers = new WeakMap<Settings, SmsProvider>();

/** The provider SMS_PROVIDER names, built once per settings object. */
export function smsProviderFor(settings: Settings): SmsProvider {
  let provider = providers.get(settings);
  if (!provider) {
    provider =
      settings.smsProvider === "console" ? createConsoleProvider() : createFast2SmsProvider(settings.fast2sms);
    providers.set(settings, provider);
  }
  return provider;
}
