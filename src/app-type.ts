/** The app's type for `hc<AppType>()` from hono/client: `import type { AppType } from "phone-otp/app-type"`. */
export type { AppType } from "./http/app";
