/**
 * The dashboard's behaviour (GET /admin), inlined in a <script> element and
 * allowed by its sha256 hash (page-csp.ts). It asks for ADMIN_TOKEN and keeps
 * it in a variable only (never storage, a cookie or the URL; a reload forgets
 * it), reads today's and the last 14 days' figures from GET /admin/stats and
 * draws them as inline SVG with DOM calls (no innerHTML, no library), and
 * looks a number up (GET /admin/numbers/{phone}) with Unlock and End
 * sessions. Plain ES2017 in browser/admin.browser.js, type-checked with
 * checkJs; the Worker ships its minified copy (browser/min/, `npm run
 * minify-pages`), bundled as text ([[rules]] in wrangler.toml).
 */
export { default as ADMIN_SCRIPT } from "./browser/min/admin.browser.js";
