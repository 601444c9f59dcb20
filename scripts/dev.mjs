#!/usr/bin/env node
// `npm run dev`: wrangler dev with the committed dev-only defaults (.dev.vars.example),
// overridden by your own .dev.vars when you have one. Extra arguments go to wrangler.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

const envFiles = [".dev.vars.example", ...(existsSync(".dev.vars") ? [".dev.vars"] : [])];
const args = ["wrangler", "dev", ...envFiles.flatMap((f) => ["--env-file", f]), ...process.argv.slice(2)];
const child = spawn("npx", args, { stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
