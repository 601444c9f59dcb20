import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { openApiJson } from "../openapi/openapi-document";
import { DOCS_STYLE, renderDocs } from "../openapi/render-docs";
import { pageContentSecurityPolicy } from "../pages/page-csp";

let docsHtml: Promise<string> | undefined;

/** The document changes only with a deploy: caches may keep it for 5 minutes. */
const CACHE_CONTROL = "public, max-age=300";

/**
 * GET /openapi.json: the OpenAPI 3.1 document, built from the routes' own
 * schemas (src/http/openapi/). GET /docs: the same document as a page, with no
 * script and nothing loaded from elsewhere. Neither depends on the settings.
 */
export const openApiRoute = new Hono<AppEnv>()
  .get("/openapi.json", (c) => {
    c.header("cache-control", CACHE_CONTROL);
    return c.body(openApiJson(), 200, { "content-type": "application/json" });
  })
  .get("/docs", async (c) => {
    docsHtml ??= renderDocs(JSON.parse(openApiJson()) as Record<string, unknown>).catch((err: unknown) => {
      docsHtml = undefined; // render again on the next request rather than keep a failure
      throw err;
    });
    c.header("content-security-policy", await pageContentSecurityPolicy({ scripts: [], styles: [DOCS_STYLE] }));
    c.header("cache-control", CACHE_CONTROL);
    return c.html(await docsHtml, 200);
  });
