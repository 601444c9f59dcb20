import type { SmsDelivery, SmsFailure } from "../errors/service-error";

/**
 * Every line the service logs: its event name, its fields, and how loud it
 * is. log() (log.ts) takes only these events with exactly these fields, so a
 * new line is added here first, and a reader of the logs finds every event
 * and what it carries in one place.
 *
 * Some field names mean the same in every event, and log() treats them by
 * name, so no caller can get them wrong:
 * - `to`, `phone`: a phone number (LoggedPhone), written masked (maskPhone).
 * - `error`: an error as thrown (anything), written as describeError's text.
 * - `reason`, `path`: free text, written with anything that looks like a
 *   phone number in it masked (maskPhonesIn), also inside nested objects.
 */

/** How loud a line is: info goes to console.log, warn to console.warn, error to console.error. */
export type LogLevel = "info" | "warn" | "error";

/** A phone number in E.164 form, or a parsed number: log() writes only its masked form. */
export type LoggedPhone = string | { readonly e164: string };

/** One gateway's failure, as `sms.failed` lists each attempt and `sms.gateway_failed` reports it. */
export type GatewayFailureFields = {
  delivery: SmsDelivery;
  http_status: number | undefined;
  provider_code: number | undefined;
  reason: string;
};

/** A gateway's failure in log fields: its outcome and the service's own reason, never a key or the vendor's text. */
export function gatewayFailureFields(f: SmsFailure): GatewayFailureFields {
  return { delivery: f.delivery, http_status: f.httpStatus, provider_code: f.gatewayCode, reason: f.reason };
}

/** One call to one gateway: to whom, through which gateway and channel, and how long it took. */
type GatewayCallFields = {
  to: LoggedPhone;
  gateway: string;
  channel: string;
  duration_ms: number;
};

/** A gateway's delivery health on one channel (delivery-health.ts): the reports in its window, and how many failed. */
type DeliveryHealthFields = { gateway: string; channel: string; reports: number; failed: number };

/** Who made an admin call: the request and the number it named, if any. */
export type AdminLogFields = {
  request_id: string;
  phone?: LoggedPhone | undefined;
};

/** The fields of each event. */
export interface LogEvents {
  /** Every request, once it is answered (request-log.ts). */
  request: {
    method: string;
    /** The route's pattern, or the raw path when no route matched. */
    path: string;
    status: number;
    duration_ms: number;
    request_id: string;
    phone?: LoggedPhone | undefined;
  };
  /** A request answered with a 5xx (on-error.ts): the thrown error's name and its cause. */
  "request.error": {
    request_id: string | undefined;
    code: string;
    /** The name of the error that became the answer; its text is in `reason`. */
    error: string;
    reason: string | undefined;
  };
  /** No gateway delivered the code: the send answered 502 (otp-service.ts). */
  "sms.failed": { to: LoggedPhone; provider: string } & GatewayFailureFields & {
      /** With failover: each gateway tried, in order. */
      attempts?: ({ gateway: string } & GatewayFailureFields)[] | undefined;
    };
  /** A gateway accepted the message. */
  "sms.sent": GatewayCallFields & { failed_over_from?: string[] | undefined };
  /** One gateway of a failover send failed; the next one may still deliver. */
  "sms.gateway_failed": GatewayCallFields & GatewayFailureFields & { breaker: string };
  /** WhatsApp refused a send for its own settings (template, token): `check` names the settings; the send went on to SMS. */
  "whatsapp.misconfigured": {
    to: LoggedPhone;
    check: string[];
    provider_code: number | undefined;
    http_status: number | undefined;
    fbtrace_id: string | undefined;
  };
  /** Local development: a code went to the dev outbox instead of a gateway. */
  "sms.outbox": { to: LoggedPhone; note: string };
  /** Taking back a storage call that failed or answered late failed too (storage-call.ts). */
  "storage.undo_failed": { error: unknown };
  /** Giving back what a refused or failed send took failed, even after the response. */
  "otp.give_back_failed": { error: unknown };
  /** Counting a wrong guess against the client's verify allowance failed, even after the response. */
  "otp.verify_confirm_failed": { error: unknown };
  /** The number's last SMS (shown to the operator) could not be recorded. */
  "otp.last_sms_failed": { error: unknown };
  "otp.fallback_sent": { gateway: string; channel: string };
  "otp.fallback_skipped": {
    reason: "breaker_open" | "budget" | "cap" | "delivered" | "fraud_suspected" | "not_live" | "no_route";
  };
  /** A gateway reported a message failed for a DLT (TRAI) reason: `problem` names it in the service's words. */
  "sms.dlt_rejected": { gateway: string; problem: string };
  /** A gateway's recent delivery reports on a channel are mostly failures: new sends try it after the healthy ones. */
  "sms.gateway_demoted": DeliveryHealthFields;
  /** A demoted gateway's reports recovered (or aged out): new sends try it in its place again. */
  "sms.gateway_restored": DeliveryHealthFields;
  /** A webhook's delivery reports: how many the body held, and how many moved a message of ours forward. */
  "delivery.reports": { gateway: string; received: number; applied: number };
  /** Delivery reports could not be recorded on their number (the webhook answered 503; the gateway retries). */
  "delivery.report_failed": { gateway: string; error: unknown };
  /** An OTP event was not counted in the figures; `where`: analytics or counters. */
  "stats.record_failed": { where: string; error: unknown };
  /** A refresh token that was already rotated came back: its session family is ended. */
  "session.reuse_detected": Record<never, never>;
  "admin.lookup": AdminLogFields;
  "admin.unlock": AdminLogFields;
  "admin.revoke_sessions": AdminLogFields & { ended: number };
  "admin.stats": AdminLogFields & { day: string };
  "admin.blocks": AdminLogFields & { blocks: number };
  "admin.lift_block": AdminLogFields & { range: string; lifted: boolean };
  /** The fraud guard blocked a number range (range-guard.ts): `range` is the number without its last digits. */
  "fraud.range_blocked": { range: string; unverified: number; times_today: number; minutes: number };
  /** A block could not be written to the operator's list (GET /admin/blocks); the block itself holds. */
  "fraud.index_failed": { range: string; error: unknown };
  /**
   * A send at its range's threshold could not learn from `numbers` of the numbers whether their codes were
   * verified (`error`: the first failure): those entries refuse sends but start no block, and rest for settleMsOf;
   * an entry whose lookup fails again after that counts as unverified.
   */
  "fraud.lookup_failed": { range: string; numbers: number; error: unknown };
  /**
   * A range at its threshold refuses its sends (`busy`, no block) only because `unknown` of its settled entries
   * have an unknown fate (a lookup failed, or none was made yet): logged once per such spell, never per send.
   */
  "fraud.range_refusing": { range: string; unknown: number };
  /** An event for the app's backend could not be queued (EVENTS_QUEUE); the sign-in went on without it. */
  "events.enqueue_failed": { event_type: string; error: unknown };
  /** A post of an event to EVENTS_WEBHOOK_URL failed (`endpoint` without its query); it is retried after `retry_in_seconds`. */
  "events.delivery_failed": EventDeliveryFields & { retry_in_seconds: number };
  /** An event's last retry failed too: it is dropped. */
  "events.given_up": EventDeliveryFields;
  /** Queued events found the events turned off (EVENTS_WEBHOOK_URL unset): dropped. */
  "events.dropped": { count: number };
  /** A call to the Supabase Send SMS hook was refused before anything was sent: its signature or timestamp. */
  "supabase.hook_refused": { check: string };
}

/** One delivery attempt of an event: what failed, never the URL's query or the body. */
type EventDeliveryFields = {
  event_type: string;
  webhook_id: string;
  attempt: number;
  endpoint: string;
  http_status?: number | undefined;
  error?: unknown;
};

export type LogEvent = keyof LogEvents;

/**
 * Each event's level. The comment above each says when it is written, for
 * people reading the logs; it is left out of the bundle.
 */
export const LOG_CATALOG = {
  /** every request, after its answer */
  request: "info",
  /** a request answered 5xx */
  "request.error": "error",
  /** a send answered 502: no gateway delivered the code */
  "sms.failed": "error",
  /** a gateway accepted the message */
  "sms.sent": "info",
  /** one gateway failed; failover may try the next */
  "sms.gateway_failed": "warn",
  /** WhatsApp refused a send for the template or the token; the send fell back to SMS */
  "whatsapp.misconfigured": "error",
  /** the console gateway kept a code in the dev outbox */
  "sms.outbox": "info",
  /** a late or failed storage call could not be taken back */
  "storage.undo_failed": "error",
  /** what a refused or failed send took could not be given back */
  "otp.give_back_failed": "error",
  /** a wrong guess could not be counted against its client's verify allowance: it went uncounted there (the number's object counted it) */
  "otp.verify_confirm_failed": "warn",
  /** the number's last SMS could not be recorded */
  "otp.last_sms_failed": "error",
  /** a code's message was not delivered in time (or failed), and the same code went out on the next gateway */
  "otp.fallback_sent": "info",
  /** a due fallback did not go out: the budget refused it, every gateway left had its circuit breaker open, the fraud guard refused its number's range, the cap was reached, a message was delivered, the code is no longer live, or no gateway of the route accepted it */
  "otp.fallback_skipped": "info",
  /** a delivery report says DLT scrubbing rejected a message */
  "sms.dlt_rejected": "warn",
  /** a gateway's recent delivery reports are mostly failures */
  "sms.gateway_demoted": "warn",
  /** a demoted gateway's delivery reports recovered */
  "sms.gateway_restored": "info",
  /** a gateway's webhook delivered reports */
  "delivery.reports": "info",
  /** delivery reports could not be recorded on their number */
  "delivery.report_failed": "error",
  /** an OTP event was not counted */
  "stats.record_failed": "error",
  /** a rotated refresh token was presented again */
  "session.reuse_detected": "info",
  /** an operator read a number's state */
  "admin.lookup": "info",
  /** an operator unlocked a number */
  "admin.unlock": "info",
  /** an operator ended a number's sessions */
  "admin.revoke_sessions": "info",
  /** an operator read a day's figures */
  "admin.stats": "info",
  /** an operator read the blocked number ranges */
  "admin.blocks": "info",
  /** an operator lifted a number range's block */
  "admin.lift_block": "info",
  /** a number range was sent too many codes that were never verified, and its sends are paused */
  "fraud.range_blocked": "warn",
  /** a range's block could not be added to the operator's list */
  "fraud.index_failed": "error",
  /** a range at its threshold could not ask a number whether its codes were verified; its sends are refused meanwhile */
  "fraud.lookup_failed": "warn",
  /** a range refuses its sends without a block because some of its codes' fate is unknown */
  "fraud.range_refusing": "warn",
  /** an event for the app's backend could not be queued */
  "events.enqueue_failed": "error",
  /** the app's event endpoint did not answer 2xx; the event is retried */
  "events.delivery_failed": "warn",
  /** an event's last retry failed; it is dropped */
  "events.given_up": "error",
  /** queued events found EVENTS_WEBHOOK_URL unset */
  "events.dropped": "warn",
  /** a Supabase hook call had a bad signature or a stale timestamp */
  "supabase.hook_refused": "warn",
} as const satisfies Record<LogEvent, LogLevel>;

/**
 * The field names log() treats by name, with the types they must have in
 * every event: a phone number can only be given where it will be masked.
 */
type SpecialFields = {
  [field: string]: unknown;
  to?: LoggedPhone | undefined;
  phone?: LoggedPhone | undefined;
  reason?: string | undefined;
  path?: string | undefined;
};

/** Compiles only while every event's fields keep the types SpecialFields gives those names. */
type EveryEventKeepsSpecialFields<T extends { [E in keyof T]: SpecialFields }> = T;
export type CheckedLogEvents = EveryEventKeepsSpecialFields<LogEvents>;
