import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script of this repository, without types
import { MIN_DIR, minifiedPages } from "../../scripts/minify-pages.mjs";

describe("the pages' browser scripts the Worker ships", () => {
  it("are the minified copies of today's sources (run `npm run minify-pages` after changing one)", () => {
    const pages = minifiedPages() as { name: string; code: string }[];
    expect(pages.map((p) => p.name)).toEqual([
      "admin.browser.css",
      "admin.browser.js",
      "outbox.browser.js",
      "sign-in.browser.css",
      "sign-in.browser.js",
    ]);
    for (const { name, code } of pages) {
      expect(readFileSync(join(MIN_DIR, name), "utf8"), name).toBe(code);
      expect(code.length).toBeGreaterThan(500);
    }
  });

  it("write text only and cannot end their inline element early (what the page's CSP hashes is all of it)", () => {
    for (const { name, code } of minifiedPages() as { name: string; code: string }[]) {
      expect(code, name).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|srcdoc/,
      );
      // The HTML parser ends a <script> or <style> at its closing tag (and treats <!-- in scripts specially).
      expect(code, name).not.toMatch(/<\/(script|style)|<!--/i);
    }
  });
});
