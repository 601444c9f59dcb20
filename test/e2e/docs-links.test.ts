import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Every relative link in the Markdown docs names a file that exists, and every
 * `#anchor` into a Markdown file names one of its headings, so moving a
 * section or renaming a heading cannot leave a dead link behind.
 */

const root = fileURLToPath(new URL("../..", import.meta.url).href);
const docs = [
  "README.md",
  "SECURITY.md",
  "BENCHMARKS.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks and inline code spans, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, "-1"… for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^```[\s\S]*?^```/gm, "");
  for (const [, heading] of withoutFences.matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Each link's target, from inline links and images: `[text](target)`, `![alt](target "title")`. */
function linksOf(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(([, t]) => t!);
}

const read = (file: string) => readFileSync(join(root, file), "utf8");

describe("links in the docs", () => {
  it("finds the docs and links in them (so the checks below check something)", () => {
    expect(docs).toEqual(expect.arrayContaining(["docs/api.md", "docs/settings.md", "docs/deploy.md"]));
    expect(linksOf(read("README.md")).length).toBeGreaterThan(10);
  });

  it.each(docs)("%s: every relative link names an existing file, and every #anchor a heading", (file) => {
    const dead: string[] = [];
    for (const target of linksOf(read(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not a file of this repository
      const [path, anchor] = target.split("#", 2) as [string, string | undefined];
      const resolved = path === "" ? join(root, file) : join(root, dirname(file), decodeURI(path));
      if (!existsSync(resolved)) {
        dead.push(`${target} (no file ${relative(root, resolved)})`);
        continue;
      }
      if (anchor !== undefined && statSync(resolved).isFile() && resolved.endsWith(".md")) {
        if (!anchorsOf(readFileSync(resolved, "utf8")).has(decodeURIComponent(anchor))) {
          dead.push(`${target} (no heading #${anchor} in ${relative(root, resolved)})`);
        }
      }
    }
    expect(dead, `dead links in ${file}`).toEqual([]);
  });

  it("the README's contents link every file in docs/", () => {
    const linked = new Set(linksOf(read("README.md")).map((t) => t.split("#")[0]));
    for (const file of docs.filter((f) => f.startsWith("docs/"))) expect(linked, file).toContain(file);
  });

  it("anchors are made as GitHub makes them", () => {
    expect([...anchorsOf("# `POST /send-otp`\n## The day's SMS budget, at scale\n## FAQ\n## FAQ\n")]).toEqual([
      "post-send-otp",
      "the-days-sms-budget-at-scale",
      "faq",
      "faq-1",
    ]);
  });
});
