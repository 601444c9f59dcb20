import { html, raw } from "hono/html";

/**
 * The opening of every HTML page this service serves, through `<body>`: the
 * same meta elements, an empty icon (no /favicon.ico request), `title`
 * (HTML-escaped by hono/html) and each of `styles` inlined as it is: they are
 * constants, allowed by their hashes in the page's Content-Security-Policy.
 * `noindex` for pages no search engine should list.
 */
export function htmlHead(title: string, styles: readonly string[], options: { noindex?: boolean } = {}) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
${options.noindex ? html`<meta name="robots" content="noindex">\n` : null}<title>${title}</title>
<link rel="icon" href="data:,">
${styles.map((style) => html`<style>${raw(style)}</style>\n`)}</head>
<body>`;
}
