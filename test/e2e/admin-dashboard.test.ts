import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startWranglerDev } from "../../scripts/lib/wrangler-dev.ts";

/**
 * The operator's dashboard (GET /admin) in real headless Chromium against the
 * real `wrangler dev` (console SMS provider, local Durable Objects and
 * Analytics Engine): a seeded day of traffic, then the page under its strict
 * CSP with no script error, today's figures and charts, and a number look-up
 * with Unlock.
 */
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`SKIPPED the dashboard test (test/e2e/admin-dashboard.test.ts): ${CHROMIUM} not found.`);

const ADMIN_TOKEN = "W30yApNb9juT6vlOySl-45jrlY_mqKUbfSe46GOwgAs";
const A = "+919876543210";
const B = "+919812345678";

let dev: DevServer;
let browser: Browser;

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${dev.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const post = (path: string, body: unknown) =>
  api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function lastCode(phone: string): Promise<string> {
  const outbox = await api(`/dev/outbox?phone=${encodeURIComponent(phone)}`);
  return /(\d{6})$/.exec(outbox.body.messages[0].text)![1]!;
}

describe.skipIf(!hasChromium)("the admin dashboard in headless Chromium against wrangler dev", () => {
  beforeAll(async () => {
    const [started, launched] = await Promise.allSettled([
      startWranglerDev({
        SMS_PROVIDER: "console",
        SMS_PROVIDERS: "console",
        JWT_SECRET: "e2e-admin-jwt-secret-0123456789abcdef01234",
        OTP_HASH_SECRET: "e2e-admin-otp-hash-secret-0123456789abcdef",
        ADMIN_TOKEN,
        // The least threshold, so the test blocks a range with 5 sends; and a short settling time
        // (SMS_SEND_DEADLINE_MS + 3 × STORAGE_TIMEOUT_MS, 10 s), after which those sends count towards a block.
        FRAUD_RANGE_MAX_UNVERIFIED: "5",
        SMS_SEND_DEADLINE_MS: "1000",
        STORAGE_TIMEOUT_MS: "3000",
      }),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
      }),
    ]);
    if (started.status === "fulfilled") dev = started.value;
    if (launched.status === "fulfilled") browser = launched.value;
    for (const result of [started, launched]) if (result.status === "rejected") throw result.reason;

    // A seeded day: A is sent a code and verifies; B is sent one and guesses wrong.
    const sentA = await post("/send-otp", { phone: A });
    expect(sentA.status).toBe(200);
    expect(
      (await post("/verify-otp", { phone: A, otp: await lastCode(A), verification_id: sentA.body.verification_id }))
        .status,
    ).toBe(200);
    const sentB = await post("/send-otp", { phone: B });
    const wrong = (await lastCode(B)).replace(/\d/g, (d) => String((Number(d) + 1) % 10));
    expect(
      (await post("/verify-otp", { phone: B, otp: wrong, verification_id: sentB.body.verification_id })).status,
    ).toBe(400);
    // The counts are written after each response: wait until they are in.
    for (let i = 0; i < 50; i++) {
      const stats = await api("/admin/stats", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const delivered = (stats.body.delivery as { by_gateway: Record<string, Record<string, { delivered: number }>> })
        .by_gateway.console?.sms?.delivered;
      // The console gateway's made-up reports (delivered, a second after each send) are counted too.
      if (
        stats.body.sends === 2 &&
        stats.body.verifications_failed === 1 &&
        stats.body.numbers_verified === 1 &&
        delivered === 2
      ) {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
  });

  it("loads under its CSP with no script error, shows the seeded day, and looks a number up and unlocks it", async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const problems: string[] = [];
    await page.addInitScript(
      'document.addEventListener("securitypolicyviolation", (e) => console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));',
    );
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));

    const res = await page.goto(`${dev.url}/admin`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("default-src 'none'");
    expect(await page.locator("#dashboard").isHidden()).toBe(true);

    // A wrong token: the form says so and stays.
    await page.locator("#admin-token").fill("not-the-token");
    await page.keyboard.press("Enter");
    await page
      .locator("#token-error")
      .filter({ hasText: /not accepted/ })
      .waitFor();

    await page.locator("#admin-token").fill(ADMIN_TOKEN);
    await page.keyboard.press("Enter");
    await page
      .locator("#status")
      .filter({ hasText: /^Updated/ })
      .waitFor();
    // The token is kept only in memory: nowhere in storage, the URL or the input.
    expect(await page.locator("#admin-token").inputValue()).toBe("");
    expect(await page.evaluate<number>("localStorage.length + sessionStorage.length")).toBe(0);
    expect(page.url()).not.toContain(ADMIN_TOKEN);

    const figure = (name: string) => page.locator(`#fig-${name}`).innerText();
    expect(await figure("sends")).toBe("2");
    expect(await figure("sms_sent")).toBe("2");
    expect(await figure("verifications_succeeded")).toBe("1");
    expect(await figure("verifications_failed")).toBe("1");
    expect(await figure("conversion_rate")).toBe("50 %");
    expect(await figure("budget")).toBe("2 of 1000");
    expect(await page.locator("#gateways").innerText()).toBe("console: 2 sent, 0 failed");
    // Charts drawn on the page: 14 days of bars, and today's failures by reason.
    expect(await page.locator("#chart-sends rect").count()).toBe(14);
    expect(await page.locator("#chart-conversion rect").count()).toBe(14);
    // Reasons in words (the code stays in the bar's tooltip), and the breakdowns say what they are.
    expect(await page.locator("#chart-failures text.label").first().textContent()).toBe("Wrong code");
    expect(await page.locator("#chart-failures title").first().textContent()).toBe("Wrong code (wrong_code): 1");
    expect(await page.locator('section[aria-labelledby="today-title"] .breakdown dt').allInnerTexts()).toEqual([
      "Gateways",
      "Countries",
      "Sends refused",
      "Number ranges",
    ]);
    expect(await page.locator("#blocks-note").innerText()).toBe("No number range is blocked.");
    // The Delivery table: a row per gateway and channel; times to delivery as bucket bounds (a console report
    // comes about a second after its send).
    expect(await page.locator("#delivery-rows tr").count()).toBe(1);
    const row = await page.locator("#delivery-rows tr").first().locator("th, td").allInnerTexts();
    expect(row.slice(0, 7)).toEqual(["console", "sms", "2", "2", "0", "0", "0"]);
    expect(row.slice(7)).toEqual([expect.stringMatching(/^≤ \d+ s$/), expect.stringMatching(/^≤ \d+ s$/)]);
    expect(await page.locator("#delivery-failures").innerText()).toBe("No failures reported today.");
    // Chart text is readable: at least 12 px on screen, however the SVG is scaled.
    const smallest = await page.evaluate<number>(
      `Math.min(...[...document.querySelectorAll("#dashboard svg text")].map((t) => {
        const svg = t.ownerSVGElement;
        return parseFloat(getComputedStyle(t).fontSize) * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      }))`,
    );
    expect(smallest).toBeGreaterThanOrEqual(12);
    // The chart grid keeps its distance from the card below it.
    const gridBottom = (await page.locator("#dashboard .grid").boundingBox())!;
    const lookupTop = (await page.locator('section[aria-labelledby="lookup-title"]').boundingBox())!.y;
    expect(lookupTop - (gridBottom.y + gridBottom.height)).toBeGreaterThanOrEqual(12);
    expect(await page.locator("#chart-budget rect.bar").count()).toBe(7);

    // Look-up of B (typed as people type it), then Unlock.
    await page.locator("#lookup-phone").fill("98123 45678");
    await page.keyboard.press("Enter");
    await page.locator("#number-view").waitFor({ state: "visible" });
    const fact = (term: string) => page.locator(`[data-fact="${term}"]`).innerText();
    expect(await fact("number")).toBe(B);
    expect(await fact("sends in the last hour")).toBe("1");
    expect(await fact("wrong codes in the last 24 hours")).toBe("1");
    expect(await fact("live code")).toMatch(/4 tries left/);
    expect(await fact("last SMS")).toMatch(/^sent via console \(sms\)/);
    await page.locator("#unlock").click();
    await page
      .locator("#action-note")
      .filter({ hasText: /Unlocked/ })
      .waitFor();
    expect(await fact("wrong codes in the last 24 hours")).toBe("0");
    expect(await fact("sends in the last hour")).toBe("0");

    await page.locator("#revoke").click();
    await page
      .locator("#action-note")
      .filter({ hasText: /session/ })
      .waitFor();
    expect(await fact("sessions")).toBe("0");

    // A range pumped with 5 codes nobody verifies: once they settled, the next send blocks it; the
    // dashboard shows it and lifts it.
    for (let i = 0; i < 5; i++) expect((await post("/send-otp", { phone: `+91987000000${i}` })).status).toBe(200);
    await new Promise((settled) => setTimeout(settled, 10_500));
    expect((await post("/send-otp", { phone: "+919870000009" })).status).toBe(403);
    await page.locator("#reload").click();
    await page.locator("#block-rows tr").first().waitFor();
    const block = await page.locator("#block-rows tr").first().locator("td").allInnerTexts();
    expect([block[0], block[3], block[4]]).toEqual(["+919870000", "5", "1"]);
    await page.getByRole("button", { name: "Lift the block on +919870000" }).click();
    await page
      .locator("#blocks-note")
      .filter({ hasText: /Lifted/ })
      .waitFor();
    expect(await page.locator("#block-rows tr").count()).toBe(0);
    expect((await post("/send-otp", { phone: "+919870000009" })).status).toBe(200);
    expect(dev.output()).toContain('"event":"admin.lift_block"');

    expect(requests.every((url) => url.startsWith(dev.url))).toBe(true);
    expect(problems).toEqual([]);
    // The admin token never reached wrangler's output (the Worker's logs).
    expect(dev.output()).not.toContain(ADMIN_TOKEN);
    expect(dev.output()).toContain('"event":"admin.unlock"');
    await context.close();
  });
});
