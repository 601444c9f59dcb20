/**
 * The sign-in page's stylesheet, inlined in a <style> element and allowed by
 * its sha256 hash in the Content-Security-Policy (page-csp.ts). The markup
 * uses no style attributes, which that policy would block.
 *
 * Messages and buttons have fixed room (min-height, nowrap) so that an error,
 * a countdown or a loaded outbox message never moves what is below it.
 */
export const PAGE_STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f3f4f6; --fg: #1b1f24; --muted: #57606a; --card: #fff; --line: #c9d1d9;
  --accent: #0b57d0; --accent-fg: #fff; --error: #b3261e; --ok: #1a7f37; --focus: #0b57d0;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --card: #161b22; --line: #3d444d;
    --accent: #4493f8; --accent-fg: #0d1117; --error: #ff7b72; --ok: #3fb950; --focus: #79c0ff;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; padding: 1rem; min-height: 100vh; background: var(--bg); color: var(--fg);
  font: 1rem/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
}
main, aside { max-width: 26rem; margin: 0 auto; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 1.25rem; }
h1 { font-size: 1.375rem; line-height: 1.25; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .5rem; }
p { margin: 0 0 .75rem; }
.lead, .hint { color: var(--muted); }
.lead { margin-bottom: 1.25rem; }
.hint { font-size: .875rem; margin: 0 0 .375rem; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input {
  display: block; width: 100%; min-height: 3rem; padding: .625rem .75rem;
  font: inherit; font-size: 1.125rem; color: inherit; background: var(--card);
  border: 1px solid var(--line); border-radius: 8px;
}
input[aria-invalid="true"] { border-color: var(--error); box-shadow: inset 0 0 0 1px var(--error); }
#code { letter-spacing: .2em; font-variant-numeric: tabular-nums; }
/* Three lines: the service's longest details (about 80 characters) fit even 320 px wide. */
.error {
  color: var(--error); font-size: .875rem; line-height: 1.3;
  min-height: calc(3 * 1.3em); margin: .375rem 0 .5rem;
}
button {
  display: block; width: 100%; min-height: 3rem; padding: .625rem 1rem; cursor: pointer;
  font: inherit; font-weight: 600; border: 1px solid transparent; border-radius: 8px;
}
button[type="submit"], .primary { background: var(--accent); color: var(--accent-fg); }
button.secondary { background: transparent; color: var(--accent); border-color: var(--line); }
button:disabled { cursor: not-allowed; color: var(--muted); background: transparent; border-color: var(--line); }
button[aria-disabled="true"] { cursor: progress; opacity: .8; }
/* Side by side when both fit (about 390 px wide and up), stacked below: decided by width, never by the label. */
.row { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .5rem; margin-top: .75rem; }
.row button { padding: .5rem; font-size: .9375rem; white-space: nowrap; font-variant-numeric: tabular-nums; }
/* Two lines kept for the delivery status, so a fallback's longer line never moves the code field. */
.delivery { color: var(--muted); font-size: .875rem; line-height: 1.3; min-height: calc(2 * 1.3em); margin: -.25rem 0 .75rem; }
.delivery[data-status="delivered"] { color: var(--ok); }
.delivery[data-status="failed"] { color: var(--error); }
/* The session actions' error takes room only when there is one: no empty band above "Your sessions". */
#session-error:empty { min-height: 0; margin: 0; }
#sessions { padding-left: 1.25rem; margin: .25rem 0 .75rem; }
.session { margin: .375rem 0; font-size: .875rem; }
.session button { padding: .125rem .5rem; font-size: .8125rem; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
/* Headings get focus only to move screen readers along; they are not controls. */
[tabindex="-1"]:focus { outline: none; }
[hidden] { display: none !important; }
.banner { border: 2px solid var(--error); color: var(--error); border-radius: 8px; padding: .75rem; }
.signed-in { color: var(--ok); }
dl { margin: 0 0 1rem; }
dt { font-size: .8125rem; color: var(--muted); }
dd { margin: 0 0 .5rem; font-size: .9375rem; overflow-wrap: anywhere; }
dt, dd, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
details { margin: 0 0 1rem; }
summary { cursor: pointer; padding: .25rem 0; }
textarea {
  display: block; width: 100%; margin-top: .5rem; padding: .5rem; resize: vertical;
  font: .8125rem/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 8px;
}
noscript p { margin-top: 1rem; }
`;
