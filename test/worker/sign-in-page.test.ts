import { describe, expect, it } from "vitest";
import { type ApiResponse, callWith, get } from "../helpers/api";

/** GET / with the console provider (dev) or the test default, fast2sms (production). */
const consoleProvider = { SMS_PROVIDER: "console", FAST2SMS_API_KEY: undefined };
const page = async (overrides?: Record<string, string | undefined>) => {
  const res = overrides ? await callWith(overrides, "/") : await get("/");
  return { ...res, html: String(res.body.raw) };
};

/** The policy as a map from directive to its sources. */
function policy(res: ApiResponse): Map<string, string[]> {
  const header = res.headers.get("content-security-policy");
  expect(header).toBeTruthy();
  return new Map(
    header!.split(";").map((part) => {
      const [name, ...sources] = part.trim().split(/\s+/);
      return [name!, sources] as const;
    }),
  );
}

/** The contents of every <tag>…</tag> in the page, in order. */
function inline(html: string, tag: "script" | "style"): string[] {
  return [...html.matchAll(new RegExp(`<${tag}\\b([^>]*)>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => {
    expect(m[1]).toBe(""); // no src=, no type= tricks: only plain inline elements
    return m[2]!;
  });
}

/** What a browser checks: 'sha256-' + base64(SHA-256(UTF-8 text)). */
async function hashSource(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `'sha256-${btoa(String.fromCharCode(...digest))}'`;
}

describe("GET / sign-in page", () => {
  it("is HTML with a strict Content-Security-Policy and the other security headers", async () => {
    const res = await page(consoleProvider);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const csp = policy(res);
    expect(csp.get("default-src")).toEqual(["'none'"]);
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    expect(csp.get("img-src")).toEqual(["data:"]);
    expect(csp.get("base-uri")).toEqual(["'none'"]);
    expect(csp.get("form-action")).toEqual(["'none'"]);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    expect(csp.get("require-trusted-types-for")).toEqual(["'script'"]);
    for (const directive of ["script-src", "style-src"]) {
      const sources = csp.get(directive)!;
      expect(sources.length).toBeGreaterThan(0);
      for (const source of sources) expect(source).toMatch(/^'sha256-[A-Za-z0-9+/]{43}='$/);
    }
    expect(res.headers.get("content-security-policy")).not.toMatch(/unsafe|\*|http/);
  });

  it("allows exactly the inline scripts and styles it contains, by their SHA-256", async () => {
    for (const overrides of [consoleProvider, undefined]) {
      const res = await page(overrides);
      const csp = policy(res);
      const scripts = inline(res.html, "script");
      const styles = inline(res.html, "style");
      expect(scripts.length).toBe(overrides ? 2 : 1);
      expect(styles.length).toBe(overrides ? 2 : 1);
      expect(csp.get("script-src")).toEqual(await Promise.all(scripts.map(hashSource)));
      expect(csp.get("style-src")).toEqual(await Promise.all(styles.map(hashSource)));
    }
  });

  it("has nothing the policy would block: no external resources, style attributes or inline handlers", async () => {
    const { html } = await page(consoleProvider);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\s(src|href)="(?!data:)/i);
    expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });

  it("has labelled fields, a one-time-code input and room reserved for each field's errors", async () => {
    const { html } = await page();
    for (const id of ["phone", "code"]) {
      expect(html).toContain(`<label for="${id}">`);
      expect(html).toMatch(new RegExp(`<input id="${id}"[^>]*aria-describedby="[^"]*${id}-error"`));
      expect(html).toMatch(new RegExp(`<p class="error" id="${id}-error" aria-live="polite"></p>`));
    }
    expect(html).toMatch(/<input id="code"[^>]*autocomplete="one-time-code"[^>]*inputmode="numeric"/);
    expect(html).toMatch(/<input id="phone"[^>]*type="tel"[^>]*autocomplete="tel"/);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('<html lang="en">');
  });

  it("shows the dev outbox panel and its script with the console provider", async () => {
    const { html } = await page(consoleProvider);
    expect(html).toContain('<aside class="outbox" id="outbox"');
    expect(html).toContain('id="outbox-message"');
    // The page's script text, as served (minified: browser/min/).
    expect(html).toMatch(/fetch\(`\/dev\/outbox\?phone=\$\{encodeURIComponent\(\w+\)\}`/);
  });

  it("has no trace of the outbox with a real provider (fast2sms)", async () => {
    const res = await page();
    expect(res.status).toBe(200);
    expect(res.html).toContain('id="phone-form"');
    expect(res.html).not.toMatch(/outbox/i);
  });

  it("still renders, naming the bad setting but not its value, when the settings are misconfigured", async () => {
    const res = await page({ JWT_SECRET: "short-secret-value" });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.html).toMatch(
      /<p class="banner" role="alert" id="page-problem">Sign-in is unavailable\. [^<]*JWT_SECRET[^<]*<\/p>/,
    );
    expect(res.html).not.toContain("short-secret-value");
    expect(res.html).not.toMatch(/outbox/i);
    expect(res.html).toMatch(/<input id="phone"[^>]* disabled>/);
    // No stack trace or error name, only the sentence.
    expect(res.html).not.toMatch(/\n\s*at \S|\.[jt]s:\d+|MisconfiguredError/);
  });

  it("says it cannot sign in, and turns the form off, while the bot check is on (it has no Turnstile widget)", async () => {
    const res = await page({ TURNSTILE_SECRET_KEY: "turnstile-secret-for-the-page-test" });
    expect(res.status).toBe(200);
    expect(res.html).toMatch(
      /<p class="banner" role="alert" id="page-problem">[^<]*TURNSTILE_SECRET_KEY is set[^<]*<\/p>/,
    );
    expect(res.html).not.toContain("turnstile-secret-for-the-page-test");
    expect(res.html).toMatch(/<input id="phone"[^>]* disabled>/);
    expect(res.html).toMatch(/<button type="submit" id="send" disabled>/);
  });

  it('offers "Call me" only when a gateway of SMS_PROVIDERS can call, and the page works without it', async () => {
    const fast2smsOnly = await page();
    expect(fast2smsOnly.html).not.toContain('id="send-voice"');
    expect(fast2smsOnly.html).not.toContain('id="other-channels"');
    expect(fast2smsOnly.html).toContain('<button type="submit" id="send">Send code</button>');
    for (const overrides of [consoleProvider, { SMS_PROVIDERS: "fast2sms,twofactor" }]) {
      const { html } = await page(overrides);
      expect(html).toMatch(
        /<div class="row" id="other-channels">\n<button type="button" class="secondary" id="send-voice">Call me<\/button>\n<\/div>/,
      );
    }
    // Turned off with the rest of the form while the page cannot send.
    const off = await page({ ...consoleProvider, TURNSTILE_SECRET_KEY: "turnstile-secret-for-the-page-test" });
    expect(off.html).toContain('<button type="button" class="secondary" id="send-voice" disabled>Call me</button>');
  });

  it("has room for the delivery status, and polls it only for channels whose messages get reports", async () => {
    const followed = async (overrides?: Record<string, string | undefined>) =>
      /<main class="card"(?: data-followed="([^"]*)")?>/.exec((await page(overrides)).html)?.[1];
    // fast2sms without DELIVERY_WEBHOOK_SECRET gets no reports: its messages would stay pending.
    expect(await followed()).toBeUndefined();
    expect(await followed({ DELIVERY_WEBHOOK_SECRET: "dlr-secret-Qm7vK2pX9sT4wZ8yB3nC6hJ1" })).toBe("sms voice");
    // The console provider makes up a report for each message.
    expect(await followed(consoleProvider)).toBe("sms voice");
    const { html } = await page();
    expect(html).toContain('<p class="delivery" id="delivery" aria-live="polite"></p>');
    // The page's script text, as served (minified: browser/min/).
    expect(html).toMatch(/\w+\("\/verification-status",\{phone:\w+,verification_id:\w+\}\)/);
  });

  it("escapes APP_NAME", async () => {
    const res = await page({ APP_NAME: `<img src=x onerror="alert(1)">` });
    expect(res.status).toBe(200);
    expect(res.html).toContain("<h1>Sign in to &lt;img src=x onerror=&quot;alert(1)&quot;&gt;</h1>");
    expect(res.html).not.toContain("<img");
  });
});
