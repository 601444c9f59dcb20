import { Hono } from "hono";
import { loadSettings } from "../../kernel/config/settings";
import { MisconfiguredError } from "../../kernel/errors/service-error";
import { smsGatewayFor } from "../../platform/sms/gateway-for";
import type { AppEnv } from "../core/app-env";
import { pageContentSecurityPolicy } from "../pages/page-csp";
import { renderSignInPage, type SignInPageView } from "../pages/page-markup";

/**
 * GET /: the sign-in page. It reads the settings itself instead of going
 * through settingsAndKeys(), so that a misconfigured service still renders the
 * page, with the problem in words (setting names only, never values) and
 * status 500, instead of a problem+json body. The dev outbox panel is in the
 * page only with the console SMS gateway; "Send on WhatsApp" only with
 * WhatsApp configured, "Call me" only when a gateway can call. With the bot check on
 * (TURNSTILE_SECRET_KEY) the page says it cannot sign in: it has no Turnstile
 * widget, and every send without a token would fail with captcha_failed.
 */
export const signInPageRoute = new Hono<AppEnv>().get("/", async (c) => {
  let view: SignInPageView;
  let status: 200 | 500 = 200;
  try {
    const settings = loadSettings(c.env);
    const devOutbox = settings.smsGateway === "console";
    const gatewaysReport = devOutbox || settings.delivery.webhookSecret !== undefined;
    view = {
      appName: settings.appName,
      devOutbox,
      whatsapp: settings.whatsapp !== undefined,
      voice: smsGatewayFor(settings).channels.includes("voice"),
      followed: [
        ...(gatewaysReport ? ["sms", "voice"] : []),
        ...((settings.whatsapp?.appSecret ?? "") !== "" ? ["whatsapp"] : []),
      ],
    };
    if (settings.turnstile) {
      view.problem =
        "This page cannot send codes while the bot check is on (TURNSTILE_SECRET_KEY is set): it has no Turnstile widget. Sign in from your app, which shows the widget.";
    }
  } catch (err) {
    if (!(err instanceof MisconfiguredError)) throw err;
    view = { appName: "Phone OTP", devOutbox: false, problem: `Sign-in is unavailable. ${err.detail}` };
    status = 500;
  }
  const page = await renderSignInPage(view);
  c.header("content-security-policy", await pageContentSecurityPolicy(page.inline));
  // nosniff, no-referrer and no-store come from the app-wide securityHeaders() middleware.
  return c.html(page.html, status);
});
