import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { jwtVerify } from "jose";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startWranglerDev } from "../../scripts/lib/wrangler-dev.ts";

/**
 * The sign-in page in real headless Chromium (Debian's `chromium` package,
 * driven by playwright-core; nothing is downloaded) against the real
 * `wrangler dev` with the console SMS provider: a person's flow, keyboard
 * only, reading the code from the dev outbox panel. .ci/run installs
 * Chromium when it is missing, so CI always runs this.
 */
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `SKIPPED the browser test (test/e2e/sign-in-page.test.ts): ${CHROMIUM} not found. ` +
      "Install it with `apt-get install chromium` (bash .ci/run does this) to run it.",
  );
}

const JWT_SECRET = "e2e-page-jwt-secret-0123456789abcdef01234";
/** The success view on a phone, kept as a test artifact (test-results/ is git-ignored). */
const SCREENSHOT = fileURLToPath(new URL("../../test-results/login-success.png", import.meta.url).href);
const PHONE = { width: 390, height: 844 };
const COOLDOWN = 3;

let dev: DevServer;
let browser: Browser;

describe.skipIf(!hasChromium)("sign-in page in headless Chromium against wrangler dev (console provider)", () => {
  beforeAll(async () => {
    // Both at once; keep whichever started, so afterAll stops it even if the other failed.
    const [started, launched] = await Promise.allSettled([
      startWranglerDev({
        SMS_PROVIDER: "console",
        OTP_RESEND_COOLDOWN_SECONDS: String(COOLDOWN),
        JWT_SECRET,
        OTP_HASH_SECRET: "e2e-page-otp-hash-secret-0123456789abcdef0",
      }),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      }),
    ]);
    if (started.status === "fulfilled") dev = started.value;
    if (launched.status === "fulfilled") browser = launched.value;
    for (const result of [started, launched]) if (result.status === "rejected") throw result.reason;
  });

  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
  });

  /** A phone-sized page that records CSP violations, script errors and failed requests. */
  async function openPage(viewport = PHONE): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const problems: string[] = [];
    // Runs in the page (a string: this file has no DOM types).
    await page.addInitScript(
      'document.addEventListener("securitypolicyviolation", (e) => console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));',
    );
    page.on("console", (m) => {
      // The API's expected 4xx answers (wrong number, wrong code) are logged by Chromium too; they are not problems.
      if (
        m.type() === "error" &&
        !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())
      ) {
        problems.push(`console: ${m.text()}`);
      }
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    const res = await page.goto(`${dev.url}/`);
    expect(res?.status()).toBe(200);
    // The browser applies autofocus after load, at its next rendering step: typing before it lands goes nowhere.
    await page.locator("#phone:focus").waitFor();
    return { page, problems };
  }

  const focusedId = async (page: Page) => (await page.locator(":focus").getAttribute("id")) ?? "";
  const text = (page: Page, selector: string) => page.locator(selector).innerText();
  const box = async (page: Page, selector: string) => (await page.locator(selector).boundingBox())!;
  /** Wait until the element's text matches. */
  const textMatches = (page: Page, selector: string, pattern: RegExp, timeout?: number) =>
    page
      .locator(selector)
      .filter({ hasText: pattern })
      .waitFor(timeout === undefined ? {} : { timeout });
  const pageWidth = (page: Page) => page.evaluate<number>("document.documentElement.scrollWidth");

  it("signs in with the keyboard only, reading the code from the dev outbox; a wrong code shows its error by the code field", async () => {
    const { page, problems } = await openPage();

    // The stylesheet applied (the policy let it through) and nothing overflows a phone's width.
    expect(await page.evaluate<string>('getComputedStyle(document.querySelector("main")).maxWidth')).toBe("416px");
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    expect(await focusedId(page)).toBe("phone");

    // A bad number: the detail appears under the phone field, and nothing below it moves.
    const sendBefore = await box(page, "#send");
    await page.keyboard.type("12345");
    await page.keyboard.press("Enter");
    await textMatches(page, "#phone-error", /./);
    expect(await text(page, "#phone-error")).toMatch(/not a valid mobile number/);
    expect(await page.locator("#phone").getAttribute("aria-invalid")).toBe("true");
    expect(await box(page, "#send")).toEqual(sendBefore);
    expect(await focusedId(page)).toBe("phone");

    // An Indian format with a leading 0 and a space; Enter sends; focus moves to the code.
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.type("098765 43210");
    await page.keyboard.press("Enter");
    await page.locator("#code").waitFor({ state: "visible" });
    expect(await focusedId(page)).toBe("code");
    expect(await text(page, "#sent-note")).toBe("We sent a code to +919876543210.");
    expect(await page.locator("#phone-form").isHidden()).toBe(true);
    expect(await text(page, "#resend")).toMatch(/^Resend in \d s$/);
    expect(await page.locator("#resend").isDisabled()).toBe(true);

    // The code, from the dev outbox panel.
    await textMatches(page, "#outbox-message", /\d{6}/);
    const message = await text(page, "#outbox-message");
    expect(message).toMatch(/^Your Phone OTP verification code is \d{6}$/);
    expect(await text(page, "#outbox-meta")).toMatch(/^To \+919876543210 at /);
    const code = /(\d{6})$/.exec(message)![1]!;

    // A wrong code: its detail (with the tries left) appears under the code field, nothing moves.
    const verifyBefore = await box(page, "#verify");
    const wrong = code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));
    await page.keyboard.type(wrong);
    await page.keyboard.press("Enter");
    await textMatches(page, "#code-error", /./);
    expect(await text(page, "#code-error")).toBe("The code is not correct. 4 tries left before it stops working.");
    expect(await page.locator("#code").getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator("#code").getAttribute("aria-describedby")).toContain("code-error");
    expect(await text(page, "#phone-error")).toBe("");
    expect(await box(page, "#verify")).toEqual(verifyBefore);
    expect(await focusedId(page)).toBe("code");

    // The right code (the wrong one is selected, so typing replaces it): the signed-in view.
    await page.keyboard.type(code);
    await page.keyboard.press("Enter");
    await page.locator("#success").waitFor({ state: "visible" });
    expect(await focusedId(page)).toBe("success-title");
    expect(await page.locator("#code-form").isHidden()).toBe(true);
    expect(await text(page, "#success-title")).toContain("You are signed in");

    const claims = await page.locator("#claims dt").allInnerTexts();
    expect(claims).toEqual(
      expect.arrayContaining(["iss", "aud", "sub", "phone_number", "phone_number_verified", "iat", "exp", "jti"]),
    );
    const claim = (name: string) =>
      page
        .locator("#claims dt", { hasText: new RegExp(`^${name}$`) })
        .locator("+ dd")
        .innerText();
    expect(await claim("sub")).toBe("+919876543210");
    expect(await claim("phone_number_verified")).toBe("true");
    expect(await claim("exp")).toMatch(/^\d{10} \(.+\)$/);
    expect(await text(page, "#expiry")).toMatch(/^The token expires at .+ \(in 15 min\)\.$/);
    expect(await page.locator("#firebase").isHidden()).toBe(true);

    // The page shows the token it was given, and it is a real one.
    const token = await page.locator("#token").inputValue();
    const { payload } = await jwtVerify(token, new TextEncoder().encode(JWT_SECRET), {
      algorithms: ["HS256"],
      issuer: "phone-otp",
      audience: "phone-otp-app",
    });
    expect(payload.phone_number).toBe("+919876543210");
    expect(payload.sid).toEqual(expect.any(String));

    // The session is kept: the list shows this session, with a coarse client.
    expect(await text(page, "#session-note")).toMatch(/^You stay signed in: .* the session ends in 30 days\.$/);
    await page.locator("#sessions li").first().waitFor();
    expect(await page.locator(`#sessions li[data-session-id="${String(payload.sid)}"]`).innerText()).toMatch(
      /^This session · Chrome/,
    );

    // Refresh is styled like Sign out (not the browser's grey button), and no empty error band
    // sits between the session buttons and "Your sessions".
    const look = (selector: string) =>
      page.evaluate<string>(
        `(() => { const s = getComputedStyle(document.querySelector(${JSON.stringify(selector)})); return [s.backgroundColor, s.color, s.borderColor].join(" / "); })()`,
      );
    expect(await look("#refresh")).toBe(await look("#sign-out"));
    const heading = page.locator("#success h3", { hasText: "Your sessions" });
    expect(
      (await heading.boundingBox())!.y - ((await box(page, "#refresh")).y + (await box(page, "#refresh")).height),
    ).toBeLessThan(32);
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);

    // Refresh: a new access token for the same session.
    await page.locator("#refresh").click();
    await textMatches(page, "#session-note", /^Refreshed/);
    const refreshed = await page.locator("#token").inputValue();
    expect(refreshed).not.toBe(token);
    const { payload: next } = await jwtVerify(refreshed, new TextEncoder().encode(JWT_SECRET), {
      algorithms: ["HS256"],
      issuer: "phone-otp",
      audience: "phone-otp-app",
    });
    expect(next.sid).toBe(payload.sid);

    // Sign out: the session ends, and the page is back at the number.
    await page.locator("#sign-out").click();
    await page.locator("#phone-form").waitFor({ state: "visible" });
    expect(await text(page, "#phone-error")).toBe("You are signed out.");
    // The session is gone: its access token may no longer even list the number's sessions.
    const list = await fetch(`${dev.url}/sessions`, { headers: { authorization: `Bearer ${refreshed}` } });
    expect(list.status).toBe(401);
    expect(((await list.json()) as { code: string }).code).toBe("invalid_token");

    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("counts the resend button down from resend_after, then resends with the keyboard", async () => {
    const { page, problems } = await openPage();
    await page.keyboard.type("+91 91234 56789");
    await page.keyboard.press("Enter");
    await textMatches(page, "#outbox-message", /\d{6}/);
    const first = await text(page, "#outbox-message");

    const resend = page.locator("#resend");
    const resendBox = await box(page, "#resend");
    expect(await text(page, "#resend")).toMatch(new RegExp(`^Resend in (${COOLDOWN}|${COOLDOWN - 1}) s$`));
    expect(await resend.isDisabled()).toBe(true);
    await textMatches(page, "#resend", /^Resend in 1 s$/, COOLDOWN * 1000);
    await textMatches(page, "#resend", /^Resend code$/, 3000);
    expect(await resend.isEnabled()).toBe(true);
    expect(await text(page, "#resend")).toBe("Resend code");
    expect(await box(page, "#resend")).toEqual(resendBox);

    // From the code field: Tab to Verify, Tab to Resend, Enter.
    expect(await focusedId(page)).toBe("code");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await focusedId(page)).toBe("resend");
    await page.keyboard.press("Enter");
    await textMatches(page, "#sent-note", /^We sent a new code/);
    expect(await text(page, "#sent-note")).toBe("We sent a new code to +919123456789.");
    expect(await focusedId(page)).toBe("code");
    expect(await resend.isDisabled()).toBe(true);
    await page
      .locator("#outbox-message")
      .filter({ hasText: /\d{6}$/, hasNotText: first })
      .waitFor();

    // The new code signs in. The answer gets a firebase_token (a later feature) on its way to the page.
    await page.route("**/verify-otp", async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: { ...(await response.json()), firebase_token: "f".repeat(900) } });
    });
    const code = /(\d{6})$/.exec(await text(page, "#outbox-message"))![1]!;
    await page.keyboard.type(code);
    await page.keyboard.press("Enter");
    await page.locator("#success").waitFor({ state: "visible" });
    expect(await text(page, "#firebase")).toBe("A Firebase custom token is included (900 characters).");
    expect(await text(page, "#claims")).toContain("+919123456789");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("'Change number' goes back to the phone field, clears the outbox panel, and ignores a late answer", async () => {
    const { page, problems } = await openPage();
    await page.keyboard.type("9876512345");
    await page.keyboard.press("Enter");
    await textMatches(page, "#outbox-message", /\d{6}/);

    // A verify that answers late; the person changes the number meanwhile.
    let answered!: () => void;
    const late = new Promise<void>((resolve) => (answered = resolve));
    await page.route("**/verify-otp", async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await route.continue();
      answered();
    });
    await page.keyboard.type("000000");
    await page.keyboard.press("Enter");
    await page.locator("#change-number").click();
    expect(await page.locator("#phone-form").isVisible()).toBe(true);
    expect(await focusedId(page)).toBe("phone");
    expect(await text(page, "#outbox-message")).toBe("Send a code to see its message.");

    await late;
    await page.waitForTimeout(300); // let the page handle the late answer
    expect(await page.locator("#phone-form").isVisible()).toBe(true);
    expect(await page.locator("#code-form").isHidden()).toBe(true);
    expect(await text(page, "#code-error")).toBe("");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("shows the delivery status as the console provider's made-up report comes in", async () => {
    const { page, problems } = await openPage();
    // Only the channels the console provider serves: SMS, and "Call me" (it can call); no WhatsApp.
    expect(await page.locator("#send-whatsapp").count()).toBe(0);
    expect(await text(page, "#send-voice")).toBe("Call me");
    const polls: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/verification-status")) polls.push(r.postData() ?? "");
    });
    await page.keyboard.type("98765 11111");
    await page.keyboard.press("Enter");
    await page.locator("#code").waitFor({ state: "visible" });
    expect(await text(page, "#delivery")).toBe("Sent by SMS…");
    const codeBox = await box(page, "#code");
    // The report is recorded 1 s after the send; the page reads the status every 3 s.
    await textMatches(page, "#delivery", /^Delivered by SMS\.$/, 8000);
    expect(await box(page, "#code")).toEqual(codeBox);
    const count = polls.length;
    expect(count).toBeGreaterThan(0);
    expect(JSON.parse(polls[0]!)).toEqual({ phone: "+919876511111", verification_id: expect.any(String) });
    // Delivered: the page stops asking.
    await page.waitForTimeout(3500);
    expect(polls.length).toBe(count);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('"Call me" asks for a call: the note, the label and the status say so, and its code signs in', async () => {
    const { page, problems } = await openPage();
    await page.locator("#phone").fill("+91 99887 76655");
    await page.locator("#send-voice").click();
    await page.locator("#code").waitFor({ state: "visible" });
    expect(await text(page, "#sent-note")).toBe("We are calling +919988776655 with your code.");
    expect(await text(page, "#code-label")).toBe("Code from the call");
    expect(await text(page, "#delivery")).toBe("Calling you…");
    await textMatches(page, "#outbox-message", /^\(voice call\) .*\d{6}$/);
    await textMatches(page, "#delivery", /^Delivered by call\.$/, 8000);
    const code = /(\d{6})$/.exec(await text(page, "#outbox-message"))![1]!;
    await page.locator("#code").fill(code);
    await page.keyboard.press("Enter");
    await page.locator("#success").waitFor({ state: "visible" });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("shows a fallback to the next route as it happens (the status answers as a WhatsApp send's would)", async () => {
    const { page, problems } = await openPage();
    // One console gateway has no next route: the answers of /verification-status are made up here, in the API's shape.
    const at = new Date().toISOString();
    const answers = [
      { status: "pending", channel: "whatsapp", messages: [{ channel: "whatsapp", status: "failed", sent_at: at }] },
      {
        status: "pending",
        channel: "sms",
        messages: [
          { channel: "whatsapp", status: "failed", sent_at: at },
          { channel: "sms", status: "pending", sent_at: at },
        ],
      },
      {
        status: "delivered",
        channel: "sms",
        messages: [
          { channel: "whatsapp", status: "failed", sent_at: at },
          { channel: "sms", status: "delivered", sent_at: at, delivered_at: at },
        ],
      },
    ];
    let served = 0;
    await page.route("**/verification-status", async (route) => {
      const answer = answers[Math.min(served++, answers.length - 1)]!;
      await route.fulfill({ json: { ...answer, expires_in: 250 } });
    });
    await page.keyboard.type("90000 12345");
    await page.keyboard.press("Enter");
    await page.locator("#code").waitFor({ state: "visible" });
    await textMatches(page, "#delivery", /^Not delivered on WhatsApp\. Trying again…$/, 8000);
    await textMatches(page, "#delivery", /^Not delivered on WhatsApp\. Sent again by SMS…$/, 8000);
    expect(await text(page, "#code-label")).toBe("Code from the SMS");
    await textMatches(page, "#delivery", /^Delivered by SMS\.$/, 8000);
    expect(await page.locator("#delivery").getAttribute("data-status")).toBe("delivered");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("keeps the longest phone errors inside their reserved room on a 320 px wide screen", async () => {
    const { page, problems } = await openPage({ width: 320, height: 640 });
    const sendBefore = await box(page, "#send");
    for (const [typed, detail] of [
      ["abc", /^Enter a mobile number using digits, for example/],
      ["12345", /^This is not a valid mobile number\./],
    ] as const) {
      await page.locator("#phone").fill(typed);
      await page.keyboard.press("Enter");
      await textMatches(page, "#phone-error", detail);
      expect(await box(page, "#send")).toEqual(sendBefore);
    }
    expect(await pageWidth(page)).toBeLessThanOrEqual(320);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
