import { Hono } from "hono";
import { loadSettings } from "../config/settings";
import { MisconfiguredError } from "../errors/service-error";
import type { AppEnv } from "../http/app-env";
import { pageContentSecurityPolicy } from "./page-csp";
import { renderSignInPage, type SignInPageView } from "./page-markup";

/**
 * GET /: the sign-in page. It reads the settings itself instead of going
 * through withSettings(), so that a misconfigured service still renders the
 * page, with the problem in words (setting names only, never values) and
 * status 500, instead of a problem+json body. The dev outbox panel is in the
 * page only with the console SMS provider.
 */
export const signInPageRoute = new Hono<AppEnv>().get("/", async (c) => {
  let view: SignInPageView;
  try {
    const settings = loadSettings(c.env);
    view = { appName: settings.appName, devOutbox: settings.smsProvider === "console" };
  } catch (err) {
    if (!(err instanceof MisconfiguredError)) throw err;
    view = { appName: "Phone OTP", devOutbox: false, problem: `Sign-in is unavailable. ${err.detail}` };
  }
  const page = await renderSignInPage(view);
  c.header("content-security-policy", await pageContentSecurityPolicy(page.inline));
  // nosniff, no-referrer and no-store come from the app-wide securityHeaders() middleware.
  return c.html(page.html, view.problem === undefined ? 200 : 500);
});
