import type { LoopbackFast2Sms } from "../../scripts/lib/fake-fast2sms-server.ts";
import { cpuMsBetween, cpuMsByPid } from "../../scripts/lib/process-cpu.ts";
import type { DevServer } from "../../scripts/lib/wrangler-dev.ts";
import type { LoopbackClient } from "./http-client.ts";
import type { BenchPhone } from "./phones.ts";
import { type LoadBounds, Recorder, runVirtualUsers } from "./virtual-users.ts";

/** What every phase needs: the two servers, the fake gateway, a client and a supply of fresh numbers. */
export interface PhaseContext {
  app: DevServer;
  baseline: DevServer;
  fast2sms: LoopbackFast2Sms;
  client: LoopbackClient;
  phones: Iterator<BenchPhone>;
}

/** One phase's outcome: its requests (in `recorder`), wall time and the server's workerd CPU time. */
export interface PhaseResult {
  recorder: Recorder;
  seconds: number;
  /** utime + stime of the served Worker's workerd process(es) over the phase. */
  cpuMs: number;
}

/** A code that was sent and not yet verified: what the send phase hands the verify phase. */
export interface PendingCode {
  phone: BenchPhone;
  code: string;
  /** What /send-otp answered: /verify-otp checks the code only under it. */
  verificationId: string;
}

/** Time after the last answer for work the Worker does after responding (waitUntil) to be counted in its phase. */
const SETTLE_MS = 150;

function nextPhone(ctx: PhaseContext): BenchPhone {
  const next = ctx.phones.next();
  if (next.done) throw new Error("no phone numbers left");
  return next.value;
}

/** Runs one phase of load against `server`, taking its workerd processes' CPU time before and after. */
export async function measurePhase(
  server: DevServer,
  bounds: LoadBounds,
  label: string,
  iteration: (recorder: Recorder) => Promise<boolean>,
): Promise<PhaseResult> {
  const recorder = new Recorder();
  const pids = server.workerdPids();
  if (pids.length === 0) throw new Error("no workerd process found under wrangler");
  const before = cpuMsByPid(pids);
  const { seconds } = await runVirtualUsers(bounds, recorder, label, () => iteration(recorder));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  return { recorder, seconds, cpuMs: cpuMsBetween(before, cpuMsByPid(pids)) };
}

/** The code the fake gateway received for `phone` (sent before /send-otp answered). */
function codeFor(ctx: PhaseContext, phone: BenchPhone): string {
  const sms = ctx.fast2sms.latestTo(phone.national);
  const code = sms?.body.variables_values;
  if (!code) throw new Error(`the fake Fast2SMS got no code for ${phone.e164}`);
  return code;
}

/** Baseline: POST /echo with the same body as /send-otp, to the bare Hono Worker. */
export function baselinePhase(ctx: PhaseContext, bounds: LoadBounds): Promise<PhaseResult> {
  return measurePhase(ctx.baseline, bounds, "echo", async (rec) => {
    rec.check("echo", await ctx.client.post(`${ctx.baseline.url}/echo`, { phone: nextPhone(ctx).e164 }));
    return true;
  });
}

/** /send-otp alone, each request to a fresh number; the codes go to `pending` for the verify phase. */
export function sendPhase(ctx: PhaseContext, bounds: LoadBounds, pending: PendingCode[]): Promise<PhaseResult> {
  return measurePhase(ctx.app, bounds, "send-otp", async (rec) => {
    const phone = nextPhone(ctx);
    const sent = await ctx.client.post(`${ctx.app.url}/send-otp`, { phone: phone.e164 });
    if (rec.check("send-otp", sent)) {
      pending.push({ phone, code: codeFor(ctx, phone), verificationId: String(sent.body.verification_id) });
    }
    return true;
  });
}

/** /verify-otp alone, with the right code for each number the send phase texted, until none is left. */
export function verifyPhase(ctx: PhaseContext, bounds: LoadBounds, pending: PendingCode[]): Promise<PhaseResult> {
  return measurePhase(ctx.app, bounds, "verify-otp", async (rec) => {
    const next = pending.shift();
    if (!next) return false;
    const reply = await ctx.client.post(`${ctx.app.url}/verify-otp`, {
      phone: next.phone.e164,
      otp: next.code,
      verification_id: next.verificationId,
    });
    if (rec.check("verify-otp", reply) && typeof reply.body.access_token !== "string") {
      rec.fail("verify-otp", "verify-otp: 200 without an access_token");
    }
    return true;
  });
}

/** Whole flows, as an app's users make them: send → read the code from the fake gateway → verify. */
export function flowPhase(ctx: PhaseContext, bounds: LoadBounds): Promise<PhaseResult> {
  return measurePhase(ctx.app, bounds, "flow", async (rec) => {
    const started = performance.now();
    const phone = nextPhone(ctx);
    const sent = await ctx.client.post(`${ctx.app.url}/send-otp`, { phone: phone.e164 });
    if (!rec.check("send-otp", sent)) return true;
    const otp = codeFor(ctx, phone);
    const verification_id = String(sent.body.verification_id);
    if (
      !rec.check(
        "verify-otp",
        await ctx.client.post(`${ctx.app.url}/verify-otp`, { phone: phone.e164, otp, verification_id }),
      )
    ) {
      return true;
    }
    rec.add("flow", performance.now() - started);
    return true;
  });
}
