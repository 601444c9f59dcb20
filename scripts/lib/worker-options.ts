import { unstable_getMiniflareWorkerOptions } from "wrangler";

/**
 * Wrangler settings, read from the environment, that would change which Worker
 * settings the tests get: the environment in wrangler.toml (CLOUDFLARE_ENV),
 * whether settings files are loaded and whether the shell's variables join them.
 * Pinned while the configuration is read, so a developer's shell cannot reach
 * the tests.
 */
const PINNED_ENV: Record<string, string | undefined> = {
  CLOUDFLARE_ENV: undefined,
  CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "false",
  CLOUDFLARE_INCLUDE_PROCESS_ENV: "false",
};

type Options = NonNullable<Parameters<typeof unstable_getMiniflareWorkerOptions>[2]>;

export interface WorkerFromConfig {
  /** The Worker's entry module (absolute). */
  main: string;
  /** Miniflare options for it: bindings ([vars], KV, Durable Objects...), module rules, compatibility. */
  miniflare: ReturnType<typeof unstable_getMiniflareWorkerOptions>["workerOptions"];
}

/**
 * The Worker a wrangler config describes, as `main` and `miniflare` options
 * for the Workers Vitest integration, without a developer's local settings:
 * no .dev.vars, no .env, no CLOUDFLARE_ENV.
 *
 * Why not `cloudflareTest({ wrangler: { configPath } })`: that reads the
 * .dev.vars beside the config (or else .env) with no option to skip it, so a
 * .dev.vars made from .dev.vars.example (the console SMS provider, an
 * ADMIN_TOKEN) would change what every worker test runs against. Wrangler's
 * own reader skips .dev.vars when it is given settings files (what
 * `wrangler dev --env-file` does); here that is /dev/null, and with
 * CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV=false not even that is read. The
 * tests' own values are then the only ones besides wrangler.toml's [vars].
 */
export function workerWithoutLocalSettings(configPath: string): WorkerFromConfig {
  const saved = Object.fromEntries(Object.keys(PINNED_ENV).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(PINNED_ENV)) setEnv(k, v);
  try {
    // `envFiles` is what `wrangler dev --env-file` passes; wrangler's declared types omit it.
    const options = { overrides: { enableContainers: false }, envFiles: ["/dev/null"] } as Options;
    const { workerOptions, main, define } = unstable_getMiniflareWorkerOptions(configPath, undefined, options);
    if (main === undefined) throw new Error(`${configPath} has no "main"`);
    // The Vitest integration applies a config's [define] only when it reads the config itself.
    if (Object.keys(define).length > 0) throw new Error(`${configPath}: [define] is not passed to the worker tests`);
    return { main, miniflare: workerOptions };
  } finally {
    for (const [k, v] of Object.entries(saved)) setEnv(k, v);
  }
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
