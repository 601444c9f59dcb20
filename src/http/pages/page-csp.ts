import { inlineHashSource } from "./inline-hash";

/** The inline <script> and <style> texts a rendered page contains. */
export interface InlineContent {
  scripts: readonly string[];
  styles: readonly string[];
}

/**
 * The page's Content-Security-Policy: nothing is allowed by default; only the
 * exact inline scripts and styles the response contains run (by hash, so no
 * 'unsafe-inline' and no nonce), requests go only to this origin, and the
 * page cannot be framed, rebased or made to post forms anywhere. The page
 * writes no HTML from strings, so Trusted Types are required with no policy.
 */
export async function pageContentSecurityPolicy(inline: InlineContent): Promise<string> {
  const [scripts, styles] = await Promise.all([
    Promise.all(inline.scripts.map(inlineHashSource)),
    Promise.all(inline.styles.map(inlineHashSource)),
  ]);
  return [
    "default-src 'none'",
    `script-src ${scripts.join(" ") || "'none'"}`,
    `style-src ${styles.join(" ") || "'none'"}`,
    "connect-src 'self'",
    // Only the empty data: favicon, which stops the browser asking for /favicon.ico.
    "img-src data:",
    "base-uri 'none'",
    // The script submits nothing natively; without it, a form posts nowhere.
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join("; ");
}
