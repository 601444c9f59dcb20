import { memoizeByString } from "../../kernel/memo";

/**
 * CSP hash sources ('sha256-<base64>') for inline <script> and <style>
 * contents: SHA-256 over the element's exact text as UTF-8, as browsers
 * compute it. Each text is hashed once per isolate; the page's scripts and
 * stylesheet are constants, so every later request reuses the result.
 */
export const inlineHashSource = memoizeByString(async (text: string): Promise<string> => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  let binary = "";
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return `'sha256-${btoa(binary)}'`;
});
