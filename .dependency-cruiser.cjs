/**
 * `npm run lint:deps`: dependencies in src/ flow one way, from the edge of
 * the service to its core, and no folder imports a folder that imports it:
 *
 *   entry (src/index.ts, src/app-type.ts)
 *   → http     routes, middleware, pages, OpenAPI (src/http/)
 *   → domain   OTP rules, guards, tokens, sessions (src/domain/)
 *   → platform Durable Objects, KV, SMS gateways (src/platform/)
 *   → kernel   errors, phone numbers, the logger, settings, time (src/kernel/)
 *
 * Within a layer, its folders are ordered too (LAYERS below, lowest first):
 * a folder may import only itself and the folders before it. A total order
 * has no cycles, so this also forbids every folder-level cycle.
 * src/verify/ is the helper other backends import (package export
 * `phone-otp/verify`): it stands alone and imports nothing else of src/, so
 * any layer may use it (the bearer-token middleware does).
 * src/client/ is the client SDK (package export `phone-otp/client`) apps
 * import: it stands alone too, and no Worker code imports it.
 */
const LAYERS = [
  ["kernel", "^src/kernel/[^/]+$"],
  ["kernel/crypto", "^src/kernel/crypto/"],
  ["kernel/errors", "^src/kernel/errors/"],
  ["kernel/phone", "^src/kernel/phone/"],
  ["kernel/log", "^src/kernel/log/"],
  ["kernel/config", "^src/kernel/config/"],
  ["platform", "^src/platform/[^/]+$"],
  ["platform/kv", "^src/platform/kv/"],
  ["platform/delivery", "^src/platform/delivery/"],
  ["platform/whatsapp", "^src/platform/whatsapp/"],
  ["platform/sms", "^src/platform/sms/"],
  // Below the limiter: the number's PhoneLimiter hosts its sessions' tables (session-table.ts).
  ["platform/sessions", "^src/platform/sessions/"],
  ["platform/limiter", "^src/platform/limiter/"],
  ["platform/stats", "^src/platform/stats/"],
  ["platform/events", "^src/platform/events/"],
  ["domain/events", "^src/domain/events/"],
  ["domain/guards", "^src/domain/guards/"],
  ["domain/tokens", "^src/domain/tokens/"],
  ["domain/stats", "^src/domain/stats/"],
  ["domain/otp", "^src/domain/otp/"],
  ["domain/sessions", "^src/domain/sessions/"],
  ["domain/admin", "^src/domain/admin/"],
  ["http/core", "^src/http/core/"],
  ["http/schemas", "^src/http/schemas/"],
  ["http/deps", "^src/http/deps/"],
  ["http/middleware", "^src/http/middleware/"],
  ["http/openapi", "^src/http/openapi/"],
  ["http/pages", "^src/http/pages/"],
  ["http/routes", "^src/http/routes/"],
  ["http", "^src/http/[^/]+$"],
  ["entry", "^src/[^/]+$"],
];

const upward = [];
LAYERS.forEach(([name, path], i) => {
  const higher = LAYERS.slice(i + 1);
  if (higher.length === 0) return;
  upward.push({
    name: `layer-${name.replace(/\//g, "-")}`,
    comment: `${name} may import only itself and lower layers (${
      LAYERS.slice(0, i)
        .map(([n]) => n)
        .join(", ") || "none"
    })`,
    severity: "error",
    from: { path },
    to: { path: higher.map(([, p]) => `(${p})`).join("|") },
  });
});

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "no-circular",
      comment: "no module imports itself through others",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "every-file-in-a-layer",
      comment: "each file of src/ belongs to a layer (or to src/verify/ or src/client/), so the rules above see it",
      severity: "error",
      from: {
        path: "^src/",
        pathNot: [...LAYERS.map(([, p]) => p), "^src/verify/", "^src/client/"],
      },
      to: {},
    },
    {
      name: "verify-stands-alone",
      comment: "src/verify/ is published for other backends: it imports nothing else of src/",
      severity: "error",
      from: { path: "^src/verify/" },
      to: { path: "^src/", pathNot: "^src/verify/" },
    },
    {
      name: "client-stands-alone",
      comment: "src/client/ is the SDK apps install (phone-otp/client): it imports nothing else of src/ and no package",
      severity: "error",
      from: { path: "^src/client/" },
      to: { pathNot: "^src/client/" },
    },
    {
      name: "nothing-imports-the-client",
      comment: "the Worker does not depend on the SDK made for apps",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/client/" },
      to: { path: "^src/client/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: "^src/",
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    parser: "swc",
  },
};
