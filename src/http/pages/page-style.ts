/**
 * The sign-in page's stylesheet, inlined in a <style> element and allowed by
 * its sha256 hash in the Content-Security-Policy (page-csp.ts). The markup
 * uses no style attributes, which that policy would block.
 *
 * Messages and buttons have fixed room (min-height, nowrap) so that an error,
 * a countdown or a loaded outbox message never moves what is below it.
 */
export { default as PAGE_STYLE } from "./browser/min/sign-in.browser.css";
