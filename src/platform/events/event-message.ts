/**
 * One event on its way to the app's backend, as it sits in EVENTS_QUEUE:
 * its Standard Webhooks id (made when the event happened, so every retry
 * carries the same `webhook-id` and the receiver can drop duplicates), its
 * type (for the logs) and the exact JSON body that is signed and posted.
 */
export interface EventMessage {
  id: string;
  type: string;
  body: string;
}

/** A fresh webhook id: `msg_` and 128 random bits, base64url. */
export function newWebhookId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return `msg_${btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}
