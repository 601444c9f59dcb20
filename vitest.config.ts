import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { workerWithoutLocalSettings } from "./scripts/lib/worker-options.ts";

/** wrangler.toml's Worker without a developer's .dev.vars, .env or CLOUDFLARE_ENV (scripts/lib/worker-options.ts). */
const worker = workerWithoutLocalSettings(fileURLToPath(new URL("./wrangler.toml", import.meta.url)));

/**
 * Two projects:
 * - worker: tests that run inside workerd with the Workers Vitest integration,
 *   against the real app, Durable Object and KV (isolated per test file).
 *   Fast2SMS is faked in one place, test/helpers/fake-fast2sms.ts.
 * - e2e: Node tests that start the real `wrangler dev` and a fake Fast2SMS
 *   server on loopback and talk to them over HTTP.
 * Neither reads a developer's .dev.vars: the worker project's settings are
 * wrangler.toml's [vars] and the bindings below, and `wrangler dev` gets its
 * own settings file (scripts/lib/wrangler-dev.ts).
 */
export default defineConfig({
  test: {
    reporters: ["default", "./test/summary-reporter.ts"],
    // Console output (the Worker's one-line JSON logs, wrangler's) only for tests that fail.
    // A root-level option: Vitest ignores silent and onConsoleLog in a project.
    silent: "passed-only",
    projects: [
      {
        plugins: [
          cloudflareTest({
            main: worker.main,
            miniflare: {
              ...worker.miniflare,
              bindings: {
                ...worker.miniflare.bindings,
                SMS_PROVIDER: "fast2sms",
                FAST2SMS_API_KEY: "test-fast2sms-key-7f3a",
                FAST2SMS_BASE_URL: "https://fast2sms.test",
                JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789",
                OTP_HASH_SECRET: "test-otp-hash-secret-0123456789abcdef01234",
                FAST2SMS_TIMEOUT_MS: "1000",
                // The other gateways' fakes (test/helpers/fake-msg91.ts, fake-twofactor.ts); used when a test sets SMS_PROVIDERS.
                MSG91_AUTH_KEY: "test-msg91-key-5b2c",
                MSG91_TEMPLATE_ID: "64f0a1b2c3d4e5f601234567",
                MSG91_BASE_URL: "https://msg91.test",
                MSG91_TIMEOUT_MS: "1000",
                TWOFACTOR_API_KEY: "test-2factor-key-9d4e",
                TWOFACTOR_BASE_URL: "https://twofactor.test",
                TWOFACTOR_TIMEOUT_MS: "1000",
                // Most tests share one client address; abuse.test.ts checks these limits with their defaults.
                OTP_MAX_SENDS_PER_IP_PER_HOUR: "100000",
                OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "100000",
                OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: "10000000",
                SMS_DAILY_BUDGET: "100000",
                OTP_MAX_SENDS_PER_IPV6_56_PER_HOUR: "100000",
                OTP_MAX_SENDS_PER_IPV6_48_PER_HOUR: "100000",
                OTP_MAX_SENDS_PER_ASN_PER_HOUR: "0",
                // The whole budget from 00:00 UTC, so a test's small budget does not depend on the hour it runs at.
                SMS_BUDGET_HOURLY_PERCENT: "100",
                REFRESH_MAX_PER_IP_PER_HOUR: "100000",
                // Tests send many unverified codes to random numbers; fraud-guard.test.ts sets its own threshold.
                FRAUD_RANGE_MAX_UNVERIFIED: "10000",
                // Each event written at once, so a request's waitUntil ends with it; storage-calls.test.ts batches.
                STATS_FLUSH_MS: "0",
                // property.test.ts: a fixed, printed seed; override to replay or explore.
                PROPERTY_SEED: process.env.PROPERTY_SEED ?? "20261125",
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
