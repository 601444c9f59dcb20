import { html, raw } from "hono/html";
import { htmlHead } from "../core/html-head";
import { OUTBOX_SCRIPT } from "./outbox-script";
import { OUTBOX_STYLE } from "./outbox-style";
import type { InlineContent } from "./page-csp";
import { PAGE_SCRIPT } from "./page-script";
import { PAGE_STYLE } from "./page-style";

export interface SignInPageView {
  /** APP_NAME, or its default when the settings cannot be read. */
  appName: string;
  /** Whether to include the dev outbox panel (SMS_PROVIDER=console only). */
  devOutbox: boolean;
  /** Whether to offer "Send on WhatsApp" next to the SMS button (WhatsApp configured). */
  whatsapp?: boolean;
  /** Whether to offer "Call me" (a gateway of SMS_PROVIDERS can call). */
  voice?: boolean;
  /**
   * The channels whose messages get delivery reports (the console gateway's
   * made-up ones, the gateways' with DELIVERY_WEBHOOK_SECRET, WhatsApp's with
   * WHATSAPP_APP_SECRET): the page polls /verification-status only after a
   * send on one of them, since without reports a message stays `pending`.
   */
  followed?: readonly string[];
  /** A sentence explaining why nobody can sign in right now (e.g. misconfigured settings). */
  problem?: string;
}

/** "Send on WhatsApp" and "Call me", side by side below "Send code", for the channels configured. */
function otherChannels(view: SignInPageView, off: boolean) {
  const disabled = off ? html` disabled` : null;
  const buttons = [
    ...(view.whatsapp
      ? [html`<button type="button" class="secondary" id="send-whatsapp"${disabled}>Send on WhatsApp</button>`]
      : []),
    ...(view.voice ? [html`<button type="button" class="secondary" id="send-voice"${disabled}>Call me</button>`] : []),
  ];
  if (buttons.length === 0) return null;
  return html`<div class="row" id="other-channels">
${buttons.map((b) => html`${b}\n`)}</div>
`;
}

export interface RenderedPage {
  html: string;
  /** Exactly the inline scripts and styles in `html`, for the Content-Security-Policy. */
  inline: InlineContent;
}

/**
 * The sign-in page: phone form (with "Send on WhatsApp" and "Call me" when
 * those channels are configured), code form (hidden until a code is sent; with
 * the delivery status while reports come in),
 * signed-in view (hidden until verified; with Refresh, Sign out and the list
 * of the number's sessions), and, with the console provider
 * only, the dev outbox panel with its script and styles. Interpolated values are
 * HTML-escaped by hono/html; the inline scripts and styles are constants.
 */
export async function renderSignInPage(view: SignInPageView): Promise<RenderedPage> {
  const scripts = view.devOutbox ? [PAGE_SCRIPT, OUTBOX_SCRIPT] : [PAGE_SCRIPT];
  const styles = view.devOutbox ? [PAGE_STYLE, OUTBOX_STYLE] : [PAGE_STYLE];
  const off = view.problem !== undefined;
  const page = await html`${htmlHead(`Sign in · ${view.appName}`, styles, { noindex: true })}
<main class="card"${view.followed?.length ? html` data-followed="${view.followed.join(" ")}"` : null}>
<h1>Sign in to ${view.appName}</h1>
<p class="lead">We send a one-time code to your mobile number.</p>
${off ? html`<p class="banner" role="alert" id="page-problem">${view.problem}</p>` : null}
<form id="phone-form" method="post" novalidate>
<label for="phone">Mobile number</label>
<p class="hint" id="phone-hint">For example 98765&nbsp;43210 or +91&nbsp;98765&nbsp;43210.</p>
<input id="phone" name="phone" type="tel" autocomplete="tel" inputmode="tel" required autofocus aria-describedby="phone-hint phone-error"${off ? html` disabled` : null}>
<p class="error" id="phone-error" aria-live="polite"></p>
<button type="submit" id="send"${off ? html` disabled` : null}>Send code</button>
${otherChannels(view, off)}</form>
<form id="code-form" method="post" novalidate hidden>
<p id="sent-note" aria-live="polite"></p>
<p class="delivery" id="delivery" aria-live="polite"></p>
<label for="code"><span id="code-label">Code from the SMS</span></label>
<input id="code" name="otp" type="text" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]*" maxlength="12" required aria-describedby="sent-note code-error">
<p class="error" id="code-error" aria-live="polite"></p>
<button type="submit" id="verify">Verify</button>
<div class="row">
<button type="button" class="secondary" id="resend" disabled>Resend code</button>
<button type="button" class="secondary" id="change-number">Change number</button>
</div>
</form>
<section id="success" aria-labelledby="success-title" hidden>
<h2 id="success-title" class="signed-in" tabindex="-1">✓ You are signed in</h2>
<p id="expiry"></p>
<p id="firebase" hidden></p>
<h3>Access token claims</h3>
<dl id="claims"></dl>
<details>
<summary>Show the access token</summary>
<textarea id="token" rows="6" readonly aria-label="Access token (JWT)"></textarea>
</details>
<h3>Session</h3>
<p id="session-note">You stay signed in: the refresh token gets a new access token without another SMS.</p>
<div class="row">
<button type="button" class="secondary" id="refresh">Refresh</button>
<button type="button" class="secondary" id="sign-out">Sign out</button>
</div>
<p class="error" id="session-error" aria-live="polite"></p>
<h3>Your sessions</h3>
<ul id="sessions" aria-live="polite"></ul>
<button type="button" class="secondary" id="restart">Start over</button>
</section>
</main>
${
  view.devOutbox
    ? html`<aside class="outbox" id="outbox" aria-labelledby="outbox-title">
<h2 id="outbox-title">Dev outbox</h2>
<p class="hint">SMS_PROVIDER is console: no SMS is sent. The last message to the number you entered appears here.</p>
<p class="outbox-message mono" id="outbox-message" aria-live="polite">Send a code to see its message.</p>
<p class="outbox-meta" id="outbox-meta"></p>
</aside>`
    : null
}
<noscript><p class="banner">This page needs JavaScript to sign you in. The API works without it: see README.md.</p></noscript>
${scripts.map((script) => html`<script>${raw(script)}</script>\n`)}</body>
</html>
`;
  return { html: page.toString(), inline: { scripts, styles } };
}
