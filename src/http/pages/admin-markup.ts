import { html, raw } from "hono/html";
import { htmlHead } from "../core/html-head";
import { ADMIN_SCRIPT } from "./admin-script";
import { ADMIN_STYLE } from "./admin-style";
import type { RenderedPage } from "./page-markup";

const FIGURES: readonly [string, string][] = [
  ["sends", "Codes sent"],
  ["sms_sent", "SMS sent"],
  ["sms_failed", "Sends failed"],
  ["refused", "Sends refused"],
  ["voice_calls", "Calls"],
  ["verifications_succeeded", "Verified"],
  ["verifications_failed", "Wrong codes"],
  ["numbers_sent", "Numbers sent a code"],
  ["numbers_verified", "Numbers verified"],
  ["conversion_rate", "Conversion"],
  ["budget", "SMS budget used"],
];

/**
 * The operator's dashboard: a token form, then today's figures, four charts
 * (sends and conversion over 14 days, today's failures by reason, budget use),
 * today's delivery by gateway and channel, the blocked number ranges with Lift, and a number look-up with Unlock and End sessions. Everything it shows
 * comes from the API with the token the person typed; the page itself holds
 * no data, so it is the same text for every request.
 */
export async function renderAdminPage(appName: string): Promise<RenderedPage> {
  const page = await html`${htmlHead(`Operations · ${appName}`, [ADMIN_STYLE], { noindex: true })}
<main>
<h1>${appName}: operations</h1>
<form id="token-form" class="card" method="post" novalidate>
<label for="admin-token">Admin token</label>
<p class="muted">ADMIN_TOKEN. It stays in this tab's memory only: reloading the page forgets it.</p>
<input id="admin-token" name="token" type="password" autocomplete="off" required autofocus aria-describedby="token-error">
<p class="error" id="token-error" aria-live="polite"></p>
<button type="submit" id="open">Open the dashboard</button>
</form>
<div id="dashboard" hidden>
<section class="card" aria-labelledby="today-title">
<h2 id="today-title">Today (<span id="today-day"></span>, UTC)</h2>
<dl class="figures">
${FIGURES.map(([id, label]) => html`<div><dt>${label}</dt><dd id="fig-${id}">–</dd></div>`)}
</dl>
<dl class="breakdown">
<div><dt>Gateways</dt><dd id="gateways"></dd></div>
<div><dt>Countries</dt><dd id="countries"></dd></div>
<div><dt>Sends refused</dt><dd id="refusals"></dd></div>
<div><dt>Number ranges</dt><dd id="fraud"></dd></div>
</dl>
<p class="muted" id="status" aria-live="polite"></p>
<button type="button" id="reload">Reload</button>
<button type="button" class="secondary" id="forget">Forget the token</button>
</section>
<div class="grid">
<section class="card" aria-labelledby="sends-title"><h2 id="sends-title">Codes sent, last 14 days</h2>
<svg id="chart-sends" role="img" aria-labelledby="sends-title"></svg></section>
<section class="card" aria-labelledby="conversion-title"><h2 id="conversion-title">Conversion, last 14 days</h2>
<svg id="chart-conversion" role="img" aria-labelledby="conversion-title"></svg></section>
<section class="card" aria-labelledby="failures-title"><h2 id="failures-title">Failures by reason, today</h2>
<svg id="chart-failures" role="img" aria-labelledby="failures-title"></svg></section>
<section class="card" aria-labelledby="budget-title"><h2 id="budget-title">SMS budget use, last 7 days</h2>
<svg id="chart-budget" role="img" aria-labelledby="budget-title"></svg></section>
</div>
<section class="card" aria-labelledby="delivery-title">
<h2 id="delivery-title">Delivery</h2>
<p class="muted">Today's messages by gateway and channel, from the gateways' delivery reports. Times to delivery are histogram bucket upper bounds.</p>
<div class="scroll"><table id="delivery-table" aria-labelledby="delivery-title">
<thead><tr><th scope="col">Gateway</th><th scope="col">Channel</th><th scope="col">Sent</th><th scope="col">Delivered</th><th scope="col">Failed</th><th scope="col">Unreported</th><th scope="col">Fallbacks</th><th scope="col">p50</th><th scope="col">p95</th></tr></thead>
<tbody id="delivery-rows"></tbody>
</table></div>
<dl class="breakdown"><div><dt>Failures reported</dt><dd id="delivery-failures"></dd></div></dl>
</section>
<section class="card" aria-labelledby="blocks-title">
<h2 id="blocks-title">Blocked number ranges</h2>
<p class="muted">Ranges whose codes were sent but not verified (suspected SMS pumping): their sends answer 403 fraud_suspected until the block ends. Lifting one lets it send again at once.</p>
<div class="scroll"><table id="blocks-table" aria-labelledby="blocks-title">
<thead><tr><th scope="col">Range</th><th scope="col">Since</th><th scope="col">Until</th><th scope="col">Unverified</th><th scope="col">Blocks today</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody id="block-rows"></tbody>
</table></div>
<p class="muted" id="blocks-note" aria-live="polite"></p>
</section>
<section class="card" aria-labelledby="lookup-title">
<h2 id="lookup-title">A number</h2>
<form id="lookup-form" method="post" novalidate>
<label for="lookup-phone">Mobile number</label>
<input id="lookup-phone" name="phone" type="tel" autocomplete="off" aria-describedby="lookup-error">
<p class="error" id="lookup-error" aria-live="polite"></p>
<button type="submit" id="lookup">Look up</button>
</form>
<div id="number-view" hidden>
<dl id="number-facts" aria-live="polite"></dl>
<button type="button" id="unlock">Unlock</button>
<button type="button" class="secondary" id="revoke">End every session</button>
<p class="muted" id="action-note" aria-live="polite"></p>
</div>
</section>
</div>
</main>
<noscript><p>This dashboard needs JavaScript. The API works without it: see README.md, "Operating it".</p></noscript>
<script>${raw(ADMIN_SCRIPT)}</script>
</body>
</html>
`;
  return { html: page.toString(), inline: { scripts: [ADMIN_SCRIPT], styles: [ADMIN_STYLE] } };
}
