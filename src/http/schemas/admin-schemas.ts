import * as z from "zod/mini";

/** Response shapes of the operator's API (/admin; see api-schemas.ts for the conventions). */

const count = (description: string) => z.int().check(z.minimum(0), z.describe(description));
const isoTime = (description: string) => z.string().check(z.describe(`ISO 8601: ${description}`));

export const adminNumberResponse = z.object({
  phone: z.string().check(z.describe("The number in E.164.")),
  sends_last_hour: count("Codes sent to the number in the last hour, from all clients."),
  failures_last_day: count("Wrong codes entered for the number's codes in the last 24 hours."),
  locked_until: z.nullable(
    isoTime("when the last lock on new codes ends (the number-wide one or a client network's); null when none holds."),
  ),
  number_locked: z
    .boolean()
    .check(z.describe("Whether the number-wide lock (OTP_MAX_FAILURES_PER_NUMBER_PER_DAY) holds.")),
  clients_locked: count("Client networks refused new codes for this number by their own wrong guesses."),
  live_code: z.nullable(
    z.object({
      expires_at: isoTime("when the newest live code expires."),
      attempts_left: count("Tries that code has left."),
    }),
  ),
  sessions: count("Live sign-in sessions of the number."),
  last_sms: z.nullable(
    z.object({
      gateway: z.string().check(z.describe("The gateway that accepted it, or those tried when none did.")),
      channel: z.enum(["sms", "voice", "whatsapp"]),
      at: isoTime("when the send ended."),
      outcome: z
        .enum(["sent", "failed", "unknown"])
        .check(
          z.describe(
            "sent: a gateway accepted it; failed: every gateway refused; unknown: no clear answer (it may arrive).",
          ),
        ),
    }),
  ),
  deliveries: z
    .array(
      z.object({
        channel: z.enum(["sms", "voice", "whatsapp"]),
        gateway: z.string().check(z.describe("The gateway that accepted the message.")),
        status: z
          .enum(["pending", "delivered", "failed"])
          .check(
            z.describe(
              "pending until the gateway reports (only with DELIVERY_WEBHOOK_SECRET); then delivered or failed.",
            ),
          ),
        sent_at: isoTime("when the gateway accepted it."),
        delivered_at: z.nullable(isoTime("when the gateway reported it delivered.")),
        failed_at: z.nullable(isoTime("when the gateway reported it failed.")),
        reason: z.nullable(z.string().check(z.describe("The gateway's failure reason, as it reported it."))),
        dlt: z.nullable(
          z.string().check(z.describe("The DLT (TRAI) scrubbing problem that reason names, in the service's words.")),
        ),
      }),
    )
    .check(
      z.describe(
        "Every message of the number's recent codes (kept as long as each code: its TTL and an hour), oldest first.",
      ),
    ),
});

export const adminStatsResponse = z.object({
  day: z.string().check(z.describe("The UTC day, YYYY-MM-DD.")),
  sends: count("Codes that went out: SMS and calls a gateway accepted, and test numbers' fixed codes."),
  sms_sent: count("SMS a gateway accepted."),
  sms_failed: count("Sends (SMS or call) that no gateway accepted."),
  voice_calls: count("Calls a gateway accepted."),
  verifications_succeeded: count("Right codes."),
  verifications_failed: count("Wrong codes for a live verification_id."),
  numbers_sent: count("Distinct numbers sent a code this day."),
  numbers_verified: count("Of those, the numbers that verified a code this day."),
  conversion_rate: z
    .number()
    .check(
      z.minimum(0),
      z.maximum(1),
      z.describe(
        "numbers_verified ÷ numbers_sent, to 4 decimals; 0 when no number was sent a code. Refused sends never count.",
      ),
    ),
  budget: z.object({
    limit: count("SMS_DAILY_BUDGET."),
    used: count("Budget units spent this day: an SMS 1, a call 2, kept also when a gateway's answer was unclear."),
  }),
  by_gateway: z.record(z.string(), z.object({ sent: count("Accepted."), failed: count("Failed attempts.") })),
  by_country: z.record(z.string(), count("Codes sent to numbers of this ISO 3166 country.")),
  failures: z.record(z.string(), count("By reason: sms_refused, sms_no_answer, number_refused, wrong_code.")),
  refused: z.object({
    total: count("Sends refused by a limit before anything was sent; not counted in sends, failures or conversion."),
    by_reason: z.record(
      z.string(),
      count("By the refusal's code: rate_limited, too_many_attempts, sms_budget_exhausted or fraud_suspected."),
    ),
  }),
  delivery: z
    .object({
      by_gateway: z.record(
        z.string(),
        z.record(
          z.string(),
          z.object({
            sent: count("Messages this gateway accepted on this channel this day (test numbers' codes are none)."),
            delivered: count("Of those, the ones reported delivered."),
            failed: count("Of those, the ones reported failed (and not delivered after)."),
            unreported: count("sent − delivered − failed: no report yet (or the gateway sends none)."),
            fallbacks: count(
              "Of the sent, those that went out here after the first gateway or channel tried failed (WhatsApp → SMS too).",
            ),
            p50_seconds: z.nullable(
              z
                .number()
                .check(
                  z.minimum(0),
                  z.describe(
                    "Median time from the send to the delivery report, as the upper bound of its histogram bucket (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 300, 600, 3600 s; the last holds anything later); null when nothing was delivered.",
                  ),
                ),
            ),
            p95_seconds: z.nullable(
              z
                .number()
                .check(
                  z.minimum(0),
                  z.describe("The 95th percentile, as p50_seconds: a bucket's upper bound, or null."),
                ),
            ),
          }),
        ),
      ),
      failures_by_reason: z.record(
        z.string(),
        count(
          "Failure reports by reason: the DLT problem when the reason names one, else the gateway's reason normalised (whatsapp_<code> for WhatsApp's); the 20 most frequent, the rest as other.",
        ),
      ),
    })
    .check(
      z.describe(
        "The day's messages by gateway, then channel, from the sends and their delivery reports; a report counts on the day its message was sent.",
      ),
    ),
  fraud: z.object({
    ranges_blocked: count("Number ranges the fraud guard blocked this day (each block once, re-blocks too)."),
    blocks_lifted: count("Blocks an operator lifted this day (DELETE /admin/blocks/{range})."),
  }),
});

export const adminBlocksResponse = z.object({
  blocks: z
    .array(
      z.object({
        range: z
          .string()
          .check(z.describe("The number range: the E.164 number without its last FRAUD_RANGE_DROP_DIGITS digits.")),
        since: isoTime("when the block started."),
        until: isoTime("when it ends, unless lifted first."),
        unverified: count("The range's unverified codes of the last hour when it was blocked."),
        times_today: count(
          "Blocks of this range in the 24 hours up to this one, this one included (each doubles the length).",
        ),
      }),
    )
    .check(z.describe("The active blocks, the longest-running first.")),
});

export type AdminBlocksResponse = z.output<typeof adminBlocksResponse>;
export type AdminNumberResponse = z.output<typeof adminNumberResponse>;
export type AdminStatsResponse = z.output<typeof adminStatsResponse>;
