/**
 * CSP hash sources ('sha256-<base64>') for inline <script> and <style>
 * contents: SHA-256 over the element's exact text as UTF-8, as browsers
 * compute it. Each text is hashed once per isolate; the page's scripts and
 * stylesheet are constants, so every later request reuses the result.
 */
const hashes = new Map<string, Promise<string>>();

export function inlineHashSource(text: string): Promise<string> {
  let hash = hashes.get(text);
  if (!hash) {
    hash = crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then((digest) => {
      let binary = "";
      for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
      return `'sha256-${btoa(binary)}'`;
    });
    hashes.set(text, hash);
  }
  return hash;
}
