/**
 * The dashboard's stylesheet (GET /admin), inlined and allowed by its sha256
 * hash (page-csp.ts). The charts are SVG drawn by the script; their colours
 * come from classes here, never from style attributes.
 */
export const ADMIN_STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f3f4f6; --fg: #1b1f24; --muted: #57606a; --card: #fff; --line: #c9d1d9;
  --accent: #0b57d0; --accent-fg: #fff; --error: #b3261e; --focus: #0b57d0;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --card: #161b22; --line: #3d444d;
    --accent: #4493f8; --accent-fg: #0d1117; --error: #ff7b72; --focus: #79c0ff;
  }
}
*, *::before, *::after { box-sizing: border-box; }
body {
  margin: 0; padding: 1rem; background: var(--bg); color: var(--fg);
  font: 1rem/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
}
main { max-width: 64rem; margin: 0 auto; }
h1 { font-size: 1.375rem; margin: 0 0 .75rem; }
h2 { font-size: 1.125rem; margin: 0 0 .5rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 1rem; margin-bottom: 1rem; }
/* Two charts a row on a desktop, one on a phone; the gap also keeps the grid off the card below it. */
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: 1rem; margin-bottom: 1rem; }
@media (max-width: 30rem) { .grid { grid-template-columns: 1fr; } }
.grid .card { margin-bottom: 0; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input {
  width: 100%; min-height: 2.75rem; padding: .5rem .75rem; font: inherit; color: inherit;
  background: var(--card); border: 1px solid var(--line); border-radius: 8px;
}
button {
  min-height: 2.5rem; padding: .5rem 1rem; margin-top: .5rem; cursor: pointer; font: inherit; font-weight: 600;
  border: 1px solid transparent; border-radius: 8px; background: var(--accent); color: var(--accent-fg);
}
button.secondary { background: transparent; color: var(--accent); border-color: var(--line); }
.error { color: var(--error); min-height: 1.5em; margin: .25rem 0; }
.muted { color: var(--muted); }
.breakdown { margin: .75rem 0 0; }
.breakdown div { display: flex; flex-wrap: wrap; gap: 0 .5rem; margin-bottom: .25rem; }
.breakdown dt { font-weight: 600; min-width: 6rem; }
.breakdown dd { margin: 0; color: var(--muted); }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .5rem; margin: 0; }
.figures div { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .75rem; }
.figures dt { font-size: .8125rem; color: var(--muted); }
.figures dd { margin: 0; font-size: 1.375rem; font-weight: 600; font-variant-numeric: tabular-nums; }
#number-facts dt { font-size: .8125rem; color: var(--muted); }
#number-facts dd { margin: 0 0 .5rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .375rem .5rem; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
th { font-size: .8125rem; color: var(--muted); font-weight: 600; }
tbody th { font-size: inherit; color: inherit; }
svg { width: 100%; height: auto; display: block; overflow: visible; }
svg .bar { fill: var(--accent); }
svg .track { fill: var(--line); }
/* Charts are drawn one unit to a CSS pixel (admin.browser.js), so these are the sizes on screen. */
svg text { fill: var(--fg); font-size: 12px; }
svg .value, svg .axis { text-anchor: middle; }
svg .axis { fill: var(--muted); }
svg .label { font-size: 13px; }
svg .end { text-anchor: end; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
[hidden] { display: none !important; }
`;
