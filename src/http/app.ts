import { Hono } from "hono";
import { NotFoundError } from "../kernel/errors/service-error";
import { signInPageRoute } from "./routes/sign-in-page";
import type { AppEnv } from "./core/app-env";
import { corsFromSettings } from "./middleware/cors-from-settings";
import { withSettings } from "./middleware/load-settings";
import { requestLog } from "./middleware/request-log";
import { securityHeaders } from "./middleware/security-headers";
import { onError, problemResponse } from "./core/on-error";
import { devOutboxRoute } from "./routes/dev-outbox";
import { healthRoute } from "./routes/health";
import { jwksRoute } from "./routes/jwks";
import { logoutRoute } from "./routes/logout";
import { openApiRoute } from "./routes/openapi";
import { sendOtpRoute } from "./routes/send-otp";
import { sessionsRoute } from "./routes/sessions";
import { tokenRefreshRoute } from "./routes/token-refresh";
import { verifyOtpRoute } from "./routes/verify-otp";

const app = new Hono<AppEnv>();
const SESSION_PATHS = ["/token/refresh", "/logout", "/logout-all", "/sessions", "/sessions/*"];

app.use(requestLog(), securityHeaders());
for (const path of ["/send-otp", "/verify-otp", "/dev/*", "/.well-known/*", ...SESSION_PATHS]) {
  app.use(path, withSettings(), corsFromSettings());
}
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
  .route("/", tokenRefreshRoute)
  .route("/", logoutRoute)
  .route("/", sessionsRoute)
  .route("/", devOutboxRoute)
  .route("/", jwksRoute);

export default routes;
/** For `hc<AppType>()` from hono/client. */
export type AppType = typeof routes;
