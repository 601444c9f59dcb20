// Writes the minified copies of the pages' browser scripts and stylesheets
// (src/http/pages/browser/*.browser.js, *.browser.css)
// that the Worker ships (src/http/pages/browser/min/), with the esbuild that wrangler pins:
// `npm run minify-pages` after changing a browser script; test/e2e/minified-pages.test.ts fails
// while a copy is out of date. The page's CSP hashes are computed from the shipped text.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

export const BROWSER_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "http", "pages", "browser");
export const MIN_DIR = join(BROWSER_DIR, "min");

/** Each browser script's name and its minified text. */
export function minifiedPages() {
  return readdirSync(BROWSER_DIR)
    .filter((name) => name.endsWith(".browser.js") || name.endsWith(".browser.css"))
    .sort()
    .map((name) => {
      const source = readFileSync(join(BROWSER_DIR, name), "utf8");
      const loader = name.endsWith(".css") ? "css" : "js";
      const { code } = transformSync(source, {
        loader,
        minify: true,
        target: loader === "css" ? "chrome90" : "es2017",
        charset: "utf8",
        legalComments: "none",
      });
      return { name, code };
    });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { name, code } of minifiedPages()) {
    writeFileSync(join(MIN_DIR, name), code);
    process.stdout.write(`${name}: ${code.length} bytes\n`);
  }
}
