/**
 * The dev outbox panel's behaviour, inlined only when SMS_PROVIDER is console
 * (with a real provider neither the panel nor this script is in the page).
 * After each send (the `otp:sent` event from page-script.ts) it shows the
 * newest message to that number from GET /dev/outbox, so a person can finish
 * the flow with no phone; on `otp:reset` (a new number) it clears the panel.
 * Allowed by its own sha256 hash (page-csp.ts); the Worker ships the
 * minified copy of browser/outbox.browser.js (browser/min/, `npm run minify-pages`).
 */
export { default as OUTBOX_SCRIPT } from "./browser/min/outbox.browser.js";
