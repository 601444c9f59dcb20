import { Hono } from "hono";
import { NotFoundError } from "../kernel/errors/service-error";
import type { AppEnv } from "./core/app-env";
import { onError, problemResponse } from "./core/on-error";
import { requestLog } from "./middleware/request-log";
import { securityHeaders } from "./middleware/security-headers";
import { corsPreflight } from "./middleware/settings-and-keys";
import { adminRoute } from "./routes/admin";
import { adminPageRoute } from "./routes/admin-page";
import { devOutboxRoute } from "./routes/dev-outbox";
import { healthRoute } from "./routes/health";
import { jwksRoute } from "./routes/jwks";
import { logoutRoute } from "./routes/logout";
import { openApiRoute } from "./routes/openapi";
import { sendOtpRoute } from "./routes/send-otp";
import { sessionsRoute } from "./routes/sessions";
import { signInPageRoute } from "./routes/sign-in-page";
import { supabaseHookRoute } from "./routes/supabase-hook";
import { tokenRefreshRoute } from "./routes/token-refresh";
import { verificationStatusRoute } from "./routes/verification-status";
import { verifyOtpRoute } from "./routes/verify-otp";
import { webhooksRoute } from "./routes/webhooks";
import { whatsAppWebhookRoute } from "./routes/whatsapp-webhook";

/**
 * The Worker's HTTP app: app-wide middleware, the error mapping, and the
 * routes (src/http/routes/, one file each). Each route that needs the
 * settings puts settingsAndKeys() in its own chain, which also applies the
 * CORS policy; a CORS preflight (OPTIONS) gets the same policy here.
 */
const app = new Hono<AppEnv>();

app.use(requestLog(), securityHeaders(), corsPreflight());
app.notFound((c) =>
  problemResponse(new NotFoundError("There is nothing at this address. See /docs for the API."), c.get("requestId")),
);
app.onError(onError);

const routes = app
  .route("/", signInPageRoute) // GET /: reads its settings itself, so it renders even when they are invalid
  .route("/", openApiRoute)
  .route("/", healthRoute)
  .route("/", sendOtpRoute)
  .route("/", verifyOtpRoute)
  .route("/", verificationStatusRoute)
  .route("/", webhooksRoute)
  .route("/", whatsAppWebhookRoute)
  .route("/", supabaseHookRoute)
  .route("/", tokenRefreshRoute)
  .route("/", logoutRoute)
  .route("/", sessionsRoute)
  .route("/", devOutboxRoute)
  .route("/", jwksRoute)
  .route("/", adminPageRoute)
  .route("/", adminRoute);

export default routes;
/** For `hc<AppType>()` from hono/client. */
export type AppType = typeof routes;
