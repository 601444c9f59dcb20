import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { sendCallerCode } from "../../domain/otp/otp-service";
import { verifyWebhook } from "../../kernel/crypto/standard-webhooks";
import {
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  WebhookSignatureInvalidError,
} from "../../kernel/errors/service-error";
import { log } from "../../kernel/log/log";
import { normalizePhone } from "../../kernel/phone/normalize-phone";
import type { AppEnv } from "../core/app-env";
import { onError } from "../core/on-error";
import { otpDeps } from "../deps/otp-deps";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import { type SupabaseHookError, supabaseSendSmsBody } from "../schemas/hook-schemas";

/** Supabase posts the whole user object with the code: room for generous metadata. */
export const MAX_SUPABASE_HOOK_BODY_BYTES = 64 * 1024;

/**
 * The client the hook's sends count against (per-client limits, and the
 * number's per-client cooldown and hourly sends): Supabase, one client.
 */
export const SUPABASE_HOOK_CLIENT = "supabase-hook";

/**
 * POST /hooks/supabase/send-sms: Supabase Auth's Send SMS hook, which exists
 * only while SUPABASE_SMS_HOOK_SECRET is set. The call must carry a Standard
 * Webhooks signature by that secret over the raw body and a timestamp at
 * most 5 minutes off (else 401, and nothing is read or sent); then
 * Supabase's code goes out through the service's own send path
 * (sendCallerCode: every limit, the budget, the gateways, the fallback), and
 * is never stored or logged. Every answer is in the shape Supabase reads:
 * `{}` when the message went out, else `{"error": {"http_code", "message"}}`
 * with the problem's status (Supabase retries 429 and 503).
 */
export const supabaseHookRoute = new Hono<AppEnv>()
  .onError((err, c) => hookError(err, c))
  .post(
    "/hooks/supabase/send-sms",
    settingsAndKeys(),
    async (c, next) => {
      if (c.get("settings").supabase === undefined) {
        throw new NotFoundError("There is nothing at this address. See /docs for the API.");
      }
      return next();
    },
    bodyLimit({
      maxSize: MAX_SUPABASE_HOOK_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(`A hook body must be at most ${MAX_SUPABASE_HOOK_BODY_BYTES} bytes.`);
      },
    }),
    async (c) => {
      const settings = c.get("settings");
      const hook = settings.supabase;
      if (hook === undefined) throw new NotFoundError("There is nothing at this address. See /docs for the API.");
      const raw = await c.req.text();
      const check = await verifyWebhook(
        hook.hookSecrets,
        {
          id: c.req.header("webhook-id"),
          timestamp: c.req.header("webhook-timestamp"),
          signature: c.req.header("webhook-signature"),
        },
        raw,
        Date.now(),
      );
      if (check !== "ok") {
        log("supabase.hook_refused", { check });
        throw new WebhookSignatureInvalidError(
          check === "stale_timestamp"
            ? "The webhook-timestamp is more than 5 minutes off."
            : "The webhook-signature header is missing or does not sign this body with SUPABASE_SMS_HOOK_SECRET.",
        );
      }
      const body = parseBody(raw);
      const number = body.user.phone.trim();
      const phone = normalizePhone(number.startsWith("+") ? number : `+${number}`, settings.allowedCountries);
      c.set("phone", phone.e164);
      const deps = otpDeps(c);
      const sending = sendCallerCode(
        deps,
        phone,
        { client: SUPABASE_HOOK_CLIENT, maxSendsPerHour: hook.maxSendsPerHour },
        body.sms.otp,
      );
      // Runs to its end if Supabase stops waiting (its hook timeout), as /send-otp does for a client that disconnects.
      deps.background(sending.catch(() => undefined));
      await sending;
      c.header("cache-control", "no-store");
      return c.json({}, 200);
    },
  );

function parseBody(raw: string) {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InvalidRequestError("The hook's body is not valid JSON.");
  }
  const parsed = supabaseSendSmsBody.safeParse(json);
  if (!parsed.success) {
    throw new InvalidRequestError('The hook\'s body needs "user.phone" and "sms.otp" (4-10 digits).');
  }
  return parsed.data;
}

/**
 * Any error of the hook as Supabase reads it: the app's one mapping (on-error.ts,
 * which also logs a 5xx) gives the status, the detail and Retry-After, in Supabase's shape.
 */
async function hookError(err: Error, c: Context<AppEnv>): Promise<Response> {
  const problem = onError(err, c);
  const { detail } = (await problem.json()) as { detail: string };
  const body: SupabaseHookError = { error: { http_code: problem.status, message: detail } };
  const headers = new Headers({ "content-type": "application/json", "cache-control": "no-store" });
  const retryAfter = problem.headers.get("retry-after");
  if (retryAfter !== null) headers.set("retry-after", retryAfter);
  return new Response(JSON.stringify(body), { status: problem.status, headers });
}
