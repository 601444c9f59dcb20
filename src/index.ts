/** The Worker: the Hono app as the default export, and the Durable Object class it binds. */

export type { AppType } from "./http/app";
export { default } from "./http/app";
export { BudgetShard } from "./platform/limiter/budget-shard";
export { PhoneLimiter } from "./platform/limiter/phone-limiter";
export { QuotaCounter } from "./platform/limiter/quota-counter";
export { SessionStore } from "./platform/sessions/session-store";
export { StatsCounter } from "./platform/stats/stats-counter";
