import type { BenchResults } from "./results.ts";

/**
 * A small hand-written SVG: throughput (left) and latency percentiles (right)
 * of the service's endpoints next to the bare-Hono baseline. Horizontal bars,
 * one scale per panel, values printed at the bar ends.
 */

const W = 880;
const ROW = 22;
const LABEL_W = 120;
/** Longest bar in each panel; the rest of the panel's width is for the value printed after it. */
const THROUGHPUT_BAR_W = 200;
const LATENCY_BAR_W = 220;
const LATENCY_X = 410;
const COLORS = {
  baseline: "#9aa5b1",
  service: "#2f6fdb",
  p50: "#2f6fdb",
  p95: "#7fa7ee",
  p99: "#c5d6f7",
  target: "#d64545",
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const text = (x: number, y: number, s: string, extra = "") => `<text x="${x}" y="${y}" ${extra}>${esc(s)}</text>`;
const rect = (x: number, y: number, w: number, h: number, fill: string) =>
  `<rect x="${x}" y="${y}" width="${Math.max(0, w).toFixed(1)}" height="${h}" fill="${fill}"/>`;

function throughputPanel(r: BenchResults, x0: number, y0: number): string[] {
  const base = r.endpoints.baseline.requestsPerSecond;
  const bars: Array<[string, number, string]> = [
    ["baseline /echo", base, COLORS.baseline],
    ["/send-otp alone", r.endpoints.sendOtp.requestsPerSecond, COLORS.service],
    ["/verify-otp alone", r.endpoints.verifyOtp.requestsPerSecond, COLORS.service],
    ["in flows (both)", r.flow.requestsPerSecond, COLORS.service],
  ];
  const max = Math.max(...bars.map(([, v]) => v)) || 1;
  const scale = THROUGHPUT_BAR_W / max;
  const out = [text(x0, y0, "Throughput (requests/s)", 'font-weight="bold"')];
  bars.forEach(([label, value, color], i) => {
    const y = y0 + 14 + i * ROW;
    out.push(text(x0, y + 14, label), rect(x0 + LABEL_W, y + 3, value * scale, ROW - 6, color));
    out.push(text(x0 + LABEL_W + value * scale + 4, y + 14, value.toFixed(0)));
  });
  const tx = x0 + LABEL_W + 0.4 * base * scale;
  const bottom = y0 + 14 + bars.length * ROW;
  out.push(
    `<line x1="${tx.toFixed(1)}" y1="${y0 + 14}" x2="${tx.toFixed(1)}" y2="${bottom}" stroke="${COLORS.target}" stroke-dasharray="4 3"/>`,
  );
  out.push(text(tx - 30, bottom + 14, "40% of baseline", `fill="${COLORS.target}"`));
  return out;
}

function latencyPanel(r: BenchResults, x0: number, y0: number): string[] {
  const groups: Array<[string, { p50: number; p95: number; p99: number }]> = [
    ["baseline /echo", r.endpoints.baseline.latencyMs],
    ["/send-otp alone", r.endpoints.sendOtp.latencyMs],
    ["/verify-otp alone", r.endpoints.verifyOtp.latencyMs],
    ["send in flow", r.flow.latencyMs.sendOtp],
    ["verify in flow", r.flow.latencyMs.verifyOtp],
  ];
  const max = Math.max(...groups.map(([, l]) => l.p99)) || 1;
  const scale = LATENCY_BAR_W / max;
  const out = [text(x0, y0, "Latency (ms): p50, p95, p99", 'font-weight="bold"')];
  const h = (ROW - 4) / 3;
  groups.forEach(([label, l], i) => {
    const y = y0 + 14 + i * ROW;
    out.push(text(x0, y + 14, label));
    for (const [j, p] of (["p50", "p95", "p99"] as const).entries()) {
      out.push(rect(x0 + LABEL_W, y + 2 + j * h, l[p] * scale, h, COLORS[p]));
    }
    out.push(
      text(x0 + LABEL_W + l.p99 * scale + 4, y + 14, `${l.p50.toFixed(1)} / ${l.p95.toFixed(1)} / ${l.p99.toFixed(1)}`),
    );
  });
  const legendY = y0 + 14 + groups.length * ROW + 4;
  (["p50", "p95", "p99"] as const).forEach((p, j) => {
    const x = x0 + LABEL_W + j * 60;
    out.push(rect(x, legendY, 12, 10, COLORS[p]), text(x + 16, legendY + 9, p));
  });
  return out;
}

export function chartSvg(r: BenchResults): string {
  const height = 20 + 14 + 5 * ROW + 50;
  const caption =
    `${r.config.users} virtual users on loopback, wrangler dev (workerd); ` +
    `${r.machine.cpus} cores; ${r.generatedAt.slice(0, 10)}. Grey: bare Hono baseline; blue: the service.`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">`,
    rect(0, 0, W, height, "#ffffff"),
    ...throughputPanel(r, 10, 20),
    ...latencyPanel(r, LATENCY_X, 20),
    text(10, height - 10, caption, 'fill="#555"'),
    "</svg>",
    "",
  ].join("\n");
}
