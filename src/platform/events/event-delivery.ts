/**
 * Posts the app's events (EVENTS_QUEUE's messages) to EVENTS_WEBHOOK_URL,
 * signed as Standard Webhooks says: the Worker's queue() handler (src/index.ts)
 * calls deliverEvents with each batch. A message is acked on a 2xx answer and
 * retried on anything else (another status, a redirect, a lost connection, no
 * answer within EVENTS_WEBHOOK_TIMEOUT_MS) after RETRY_DELAYS_SECONDS of its
 * attempt, with the same webhook-id and a fresh webhook-timestamp (a receiver
 * refuses one more than 5 minutes old). After the last retry it is logged and
 * dropped. The URL is never logged with its query (a receiver may take a token there).
 */
import type { Settings } from "../../kernel/config/settings";
import { signWebhook } from "../../kernel/crypto/standard-webhooks";
import { describeError, log } from "../../kernel/log/log";
import type { EventMessage } from "./event-message";

/**
 * The wait before each retry, by the attempt that failed: the first within a
 * minute, then backing off to hours, about 15.7 hours in all. wrangler.toml's
 * max_retries is its length.
 */
export const RETRY_DELAYS_SECONDS = [30, 120, 600, 1800, 3600, 7200, 14_400, 28_800] as const;

/** The wait after failed attempt `attempts` (1 for the first), or undefined after the last. */
export function retryDelay(attempts: number): number | undefined {
  return RETRY_DELAYS_SECONDS[attempts - 1];
}

/** The endpoint as the logs name it: scheme, host and path, never the query or fragment. */
export function loggedEndpoint(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/**
 * `text` with the endpoint's query and fragment taken out wherever they
 * appear (the URL whole, or any form of it a runtime's message quotes), before
 * describeError shortens or redacts anything, so no cut of the URL keeps them.
 */
export function withoutQuery(text: string, url: string): string {
  const u = new URL(url);
  let out = text.split(url).join(loggedEndpoint(url));
  for (const part of [u.search, u.search.slice(1), u.hash, u.hash.slice(1)]) {
    if (part.length > 1) out = out.split(part).join("");
    try {
      const decoded = decodeURIComponent(part);
      if (decoded.length > 1) out = out.split(decoded).join("");
    } catch {
      /* not percent-encoded text */
    }
  }
  return out;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

type EventSettings = NonNullable<Settings["events"]>;

/** Delivers a batch's messages at once; each is acked or retried on its own. */
export async function deliverEvents(
  batch: MessageBatch<EventMessage>,
  events: EventSettings | undefined,
): Promise<void> {
  if (events === undefined) {
    // The events were turned off after these were queued: nobody to deliver them to.
    log("events.dropped", { count: batch.messages.length });
    batch.ackAll();
    return;
  }
  await Promise.all(batch.messages.map((message) => deliverOne(message, events)));
}

async function deliverOne(message: Message<EventMessage>, events: EventSettings): Promise<void> {
  const { id, type, body } = message.body;
  let failure: { http_status?: number; error?: unknown };
  try {
    const headers = await signWebhook(events.secret, id, Math.floor(Date.now() / 1000), body);
    const res = await fetch(events.url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", "user-agent": "phone-otp-events/1" },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(events.timeoutMs),
    });
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) {
      message.ack();
      return;
    }
    failure = { http_status: res.status };
  } catch (error) {
    failure = { error: describeError(withoutQuery(errorText(error), events.url)) };
  }
  const delay = retryDelay(message.attempts);
  const fields = {
    event_type: type,
    webhook_id: id,
    attempt: message.attempts,
    endpoint: loggedEndpoint(events.url),
    ...failure,
  };
  if (delay === undefined) {
    log("events.given_up", fields);
    message.ack();
    return;
  }
  log("events.delivery_failed", { ...fields, retry_in_seconds: delay });
  message.retry({ delaySeconds: delay });
}
