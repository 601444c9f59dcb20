/** The Worker: the Hono app as the default export, and the Durable Object class it binds. */
export { default } from "./http/app";
export type { AppType } from "./http/app";
export { PhoneLimiter } from "./limiter/phone-limiter";
export { QuotaCounter } from "./limiter/quota-counter";
export { SessionStore } from "./sessions/session-store";
