/**
 * The sign-in page's behaviour, inlined in a <script> element and allowed by
 * its sha256 hash in the Content-Security-Policy (page-csp.ts). It is the
 * same text for every response (no server data inside), so its hash is
 * computed once; settings reach it only through the markup.
 *
 * Flow: phone → POST /send-otp → code → POST /verify-otp → claims of the
 * access token, decoded here (base64url JSON, not verified: that is the
 * backend's job). Every error shows the problem+json `detail` under the field
 * of the form that was submitted, and that field gets aria-invalid and focus.
 * After a send it dispatches `otp:sent` on document, and on "Change number"
 * or "Start over" `otp:reset`; the dev outbox panel (outbox-script.ts,
 * console provider only) listens for both. An answer that arrives after the
 * person started over is dropped (`generation`).
 *
 * Signed in, it keeps the refresh and access tokens in memory only (never in
 * storage): "Refresh" posts /token/refresh and shows the new token, "Sign out"
 * posts /logout, and the list comes from GET /sessions, where another session
 * can be ended (DELETE /sessions/{id}).
 *
 * Plain ES2017 in browser/sign-in.browser.js, which the type checker
 * (browser/tsconfig.json, checkJs) and the linter read; the Worker ships its
 * minified copy (browser/min/, `npm run minify-pages`), bundled as text
 * ([[rules]] in wrangler.toml). No modules, and nothing that would need a
 * looser policy (no eval, no innerHTML, no inline handlers or styles).
 */
export { default as PAGE_SCRIPT } from "./browser/min/sign-in.browser.js";
