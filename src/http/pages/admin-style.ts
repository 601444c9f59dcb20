/**
 * The dashboard's stylesheet (GET /admin), inlined and allowed by its sha256
 * hash (page-csp.ts). The charts are SVG drawn by the script; their colours
 * come from classes here, never from style attributes.
 */
export { default as ADMIN_STYLE } from "./browser/min/admin.browser.css";
