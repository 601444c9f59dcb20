import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { adminAuth } from "../middleware/admin-auth";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import { renderAdminPage } from "../pages/admin-markup";
import { pageContentSecurityPolicy } from "../pages/page-csp";

/**
 * GET /admin: the operator's dashboard. The page needs no token to load (it
 * holds no data and asks for the token); every figure it shows comes from the
 * API with the token typed into it. Like the API, it does not exist (404)
 * while ADMIN_TOKEN is not set.
 */
export const adminPageRoute = new Hono<AppEnv>().get(
  "/admin",
  settingsAndKeys(),
  adminAuth({ page: true }),
  async (c) => {
    const page = await renderAdminPage(c.get("settings").appName);
    c.header("content-security-policy", await pageContentSecurityPolicy(page.inline));
    return c.html(page.html, 200);
  },
);
