/**
 * Domain layer: the events the app's backend receives (src/domain/events/),
 * when EVENTS_WEBHOOK_URL and EVENTS_WEBHOOK_SECRET are set. Each event gets
 * its webhook id and its body here, when it happens, and goes to
 * EVENTS_QUEUE after the response (the `background` of each request), so a
 * sign-in is never slowed or failed by it: a queue that refuses is logged.
 * The queue's consumer posts it, signed (platform/events/event-delivery.ts).
 *
 * What an event carries is typed below: the number (E.164), the code's
 * verification_id or the session's id, the channel, why a session ended.
 * Never a code, a hash or a token.
 */
import type { Settings } from "../../kernel/config/settings";
import { log } from "../../kernel/log/log";
import { type EventMessage, newWebhookId } from "../../platform/events/event-message";
import type { Channel } from "../../platform/sms/sms-gateway";

/** Why a session ended: its logout, the number's logout-all, a refresh token used twice, its age, the operator. */
export type SessionEndReason = "logout" | "logout_all" | "reuse_detected" | "expired" | "admin";

/** Each event's data. */
export interface AppEventData {
  /** A code went out (a gateway accepted the message, or a test number got its fixed code). */
  "verification.sent": { phone: string; verification_id: string; channel: Channel };
  /** A gateway reported a message of the code delivered to the phone. */
  "verification.delivered": { phone: string; verification_id: string; channel: Channel };
  /** No message of the code reached the phone, and no other route is left to try. */
  "verification.failed": { phone: string; verification_id: string; channel: Channel };
  /** The right code was entered. */
  "verification.approved": { phone: string; verification_id: string };
  "session.created": { phone: string; session_id: string };
  "session.ended": { phone: string; session_id: string; reason: SessionEndReason };
  /** The fraud guard paused sends to a number range (docs/fraud.md): no number, only the range and the block. */
  "fraud.range_blocked": { range: string; since: string; until: string; unverified: number; times_today: number };
  /** The operator lifted a range's block. */
  "fraud.range_lifted": { range: string };
}

export type AppEventType = keyof AppEventData;

export const APP_EVENT_TYPES = [
  "verification.sent",
  "verification.delivered",
  "verification.failed",
  "verification.approved",
  "session.created",
  "session.ended",
  "fraud.range_blocked",
  "fraud.range_lifted",
] as const satisfies readonly AppEventType[];

/** What emitting needs: the settings (are events on?), the queue, and the request's after-the-response runner. */
export interface EventDeps {
  settings: Pick<Settings, "events">;
  /** EVENTS_QUEUE; absent where a caller has none (then nothing is emitted). */
  events?: Queue<EventMessage> | undefined;
  background: (work: Promise<unknown>) => void;
}

/** One event, before it is queued. */
export type AppEvent = { [T in AppEventType]: { type: T; data: AppEventData[T] } }[AppEventType];

/** The queue message of an event that happens now: a new webhook id, and the body the receiver gets. */
export function eventMessage(event: AppEvent, now: number = Date.now()): EventMessage {
  const body = JSON.stringify({ type: event.type, timestamp: new Date(now).toISOString(), data: event.data });
  return { id: newWebhookId(), type: event.type, body };
}

/** Queues events for the app's backend after the response; does nothing while events are off. Never throws. */
export function emitEvents(deps: EventDeps, events: readonly AppEvent[]): void {
  const queue = deps.events;
  if (deps.settings.events === undefined || queue === undefined || events.length === 0) return;
  const messages = events.map((e) => eventMessage(e));
  try {
    const sent =
      messages.length === 1
        ? queue.send(messages[0]!, { contentType: "json" })
        : queue.sendBatch(messages.map((body) => ({ body, contentType: "json" as const })));
    deps.background(
      sent.catch((error: unknown) =>
        log("events.enqueue_failed", { event_type: [...new Set(events.map((e) => e.type))].join(","), error }),
      ),
    );
  } catch (error) {
    log("events.enqueue_failed", { event_type: events[0]!.type, error });
  }
}

/** One event; see emitEvents. */
export function emitEvent<T extends AppEventType>(deps: EventDeps, type: T, data: AppEventData[T]): void {
  emitEvents(deps, [{ type, data } as AppEvent]);
}

/** `fraud.range_blocked` for a block that just started. */
export function rangeBlocked(
  deps: EventDeps,
  block: { range: string; since: number; until: number; unverified: number; timesToday: number },
): void {
  emitEvent(deps, "fraud.range_blocked", {
    range: block.range,
    since: new Date(block.since).toISOString(),
    until: new Date(block.until).toISOString(),
    unverified: block.unverified,
    times_today: block.timesToday,
  });
}

/** `session.ended` for each of the number's sessions that ended, and why. */
export function sessionsEnded(e164: string, ids: readonly string[], reason: SessionEndReason): AppEvent[] {
  return ids.map((id) => ({ type: "session.ended", data: { phone: e164, session_id: id, reason } }));
}
