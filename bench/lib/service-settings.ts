/**
 * The service's settings for a benchmark run, on top of wrangler.toml's
 * production defaults. Limits are raised through settings only (no code path
 * exists for the benchmark). Every virtual user has its own number and each
 * number is sent one code and verified once, so the per-number limits keep
 * their defaults; but all users share one client address (127.0.0.1) and the
 * one global SMS budget, so those two are set to their maximums.
 */
export function serviceSettings(fast2smsUrl: string): Record<string, string> {
  return {
    SMS_PROVIDER: "fast2sms",
    FAST2SMS_API_KEY: "bench-fast2sms-key-not-a-real-key",
    FAST2SMS_BASE_URL: fast2smsUrl,
    JWT_SECRET: "bench-jwt-secret-0123456789abcdef0123456789",
    OTP_HASH_SECRET: "bench-otp-hash-secret-0123456789abcdef0123",
    OTP_MAX_SENDS_PER_IP_PER_HOUR: "100000",
    OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: "10000000",
    OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "10000000",
    SMS_DAILY_BUDGET: "10000000",
    // All of it from 00:00 UTC, and no per-network limit: every virtual user is one client on one network.
    SMS_BUDGET_HOURLY_PERCENT: "100",
    OTP_MAX_SENDS_PER_ASN_PER_HOUR: "0",
    // The send phase texts consecutive numbers (one range per thousand) and verifies them only later:
    // the fraud guard still makes its one call per send, but never blocks the run.
    FRAUD_RANGE_MAX_UNVERIFIED: "10000",
  };
}
