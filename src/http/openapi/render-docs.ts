import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { htmlHead } from "../core/html-head";

/**
 * GET /docs: the OpenAPI document rendered as one plain HTML page on the
 * server, from the document itself (not from the schemas), so the page shows
 * exactly what /openapi.json says. No script, and nothing from elsewhere.
 */

type Json = Record<string, unknown>;
type Schema = Json & { properties?: Record<string, Schema>; required?: string[] };

export const DOCS_STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #57606a; --line: #d0d7de; --code: #f3f4f6; --get: #1a7f37; --post: #0b57d0; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #3d444d; --code: #161b22; --get: #3fb950; --post: #4493f8; } }
body { margin: 0 auto; padding: 1rem; max-width: 60rem; background: var(--bg); color: var(--fg); font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { margin-bottom: .25rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h3 { margin-top: 1.5rem; font-size: 1.05rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; background: var(--code); border-radius: 4px; padding: .1em .3em; }
.method { font-weight: 700; text-transform: uppercase; margin-right: .5rem; }
.get { color: var(--get); } .post { color: var(--post); }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; display: block; overflow-x: auto; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); padding: .35rem .5rem; }
nav ul { padding-left: 1.25rem; }
`;

function typeOf(schema: Schema): string {
  if ("const" in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Schema[]).map(typeOf).join(" | ");
  if (schema.type === "array" && schema.items) return `${typeOf(schema.items as Schema)}[]`;
  return typeof schema.type === "string" ? schema.type : "any";
}

function constraints(schema: Schema): string {
  const parts: string[] = [];
  if (typeof schema.minLength === "number") parts.push(`min length ${schema.minLength}`);
  if (typeof schema.maxLength === "number") parts.push(`max length ${schema.maxLength}`);
  if (typeof schema.pattern === "string") parts.push(`pattern ${schema.pattern}`);
  if (typeof schema.minimum === "number") parts.push(`≥ ${schema.minimum}`);
  return parts.join(", ");
}

/** A table of an object schema's fields (one level; nested objects show as "object"). */
function fieldTable(schema: Schema | undefined): HtmlEscapedString | Promise<HtmlEscapedString> | null {
  const properties = schema?.properties;
  if (!properties) return null;
  const required = new Set(schema.required ?? []);
  return html`<table>
<thead><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr></thead>
<tbody>${Object.entries(properties).map(
    ([name, field]) =>
      html`<tr><td><code>${name}</code></td><td><code>${typeOf(field)}</code></td><td>${required.has(name) ? "yes" : "no"}</td><td>${withCode(String(field.description ?? ""))}${constraints(field) ? html` <span class="muted">(${constraints(field)})</span>` : null}</td></tr>`,
  )}</tbody>
</table>`;
}

/**
 * Text with `code spans`, as HTML: the parts between backticks become <code>
 * elements and every part is escaped by `html`, so no text becomes markup.
 */
function withCode(text: string) {
  return text.split("`").map((part, i) => (i % 2 === 1 ? html`<code>${part}</code>` : part));
}

function responseRows(responses: Record<string, Json>) {
  return Object.entries(responses).map(([status, response]) => {
    const content = (response.content ?? {}) as Record<string, Json>;
    return html`<tr><td>${status}</td><td>${Object.keys(content).map((type) => html`<code>${type}</code> `)}</td><td>${String(
      response.description ?? "",
    )
      .split("\n\n")
      .map((line) => html`<div>${withCode(line)}</div>`)}</td></tr>`;
  });
}

export async function renderDocs(doc: Json): Promise<string> {
  const info = doc.info as Json;
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const operations = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );
  const page = await html`${htmlHead(`${String(info.title)} API`, [DOCS_STYLE])}
<header>
<h1>${String(info.title)} API <span class="muted">${String(info.version)}</span></h1>
<p>${withCode(String(info.description))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${String(doc.openapi)}). Try it: <a href="/">the sign-in page</a>.</p>
</header>
<nav aria-label="Operations"><ul>${operations.map(
    ({ path, method, op }) =>
      html`<li><a href="#${String(op.operationId)}"><span class="method ${method}">${method}</span><code>${path}</code></a> ${withCode(String(op.summary))}</li>`,
  )}</ul></nav>
<main>${operations.map(({ path, method, op }) => {
    const body = ((op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.[
      "application/json"
    ];
    const responses = op.responses as Record<string, Json>;
    const success = Object.values((responses["200"]?.content ?? {}) as Record<string, Json>)[0];
    const parameters = (op.parameters ?? []) as Json[];
    return html`<section id="${String(op.operationId)}">
<h2><span class="method ${method}">${method}</span><code>${path}</code></h2>
<p><strong>${withCode(String(op.summary))}.</strong> ${withCode(String(op.description))}</p>
${parameters.length > 0 ? html`<h3>Query parameters</h3><ul>${parameters.map((p) => html`<li><code>${String(p.name)}</code> (optional): ${withCode(String(p.description))}</li>`)}</ul>` : null}
${body ? html`<h3>Request body <code>application/json</code></h3>${fieldTable(body.schema as Schema)}` : null}
${success?.schema && (success.schema as Schema).properties ? html`<h3>200 response</h3>${fieldTable(success.schema as Schema)}` : null}
<h3>Responses</h3>
<table><thead><tr><th>status</th><th>content</th><th>when</th></tr></thead><tbody>${responseRows(responses)}</tbody></table>
</section>`;
  })}</main>
</body>
</html>
`;
  return page.toString();
}
