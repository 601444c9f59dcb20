import type { Settings } from "../../kernel/config/settings";
import { CaptchaFailedError, CaptchaUnavailableError } from "../../kernel/errors/service-error";

type TurnstileSettings = NonNullable<Settings["turnstile"]>;

const RETRY_AFTER_SECONDS = 10;

/**
 * Cloudflare Turnstile, checked server-side: POST the token to siteverify with
 * the secret and the client's address. Passes only on `success: true` and,
 * where configured, the expected hostname and action. Fails closed: if
 * siteverify cannot be reached or answers nonsense, the send is refused (503).
 */
export async function verifyTurnstile(
  cfg: TurnstileSettings,
  token: string | undefined,
  remoteIp: string | undefined,
  fetcher: typeof fetch = (input, init) => fetch(input, init),
): Promise<void> {
  if (!token) throw new CaptchaFailedError("Complete the bot check first: the turnstile_token field is required.");
  const form = new FormData();
  form.set("secret", cfg.secretKey);
  form.set("response", token);
  if (remoteIp) form.set("remoteip", remoteIp);

  let outcome: { success?: unknown; hostname?: unknown; action?: unknown };
  try {
    const res = await fetcher(cfg.siteverifyUrl, {
      method: "POST",
      body: form,
      signal: AbortSignal.timeout(cfg.timeoutMs),
    });
    if (!res.ok) throw new Error(`siteverify HTTP ${res.status}`);
    outcome = (await res.json()) as typeof outcome;
    if (typeof outcome !== "object" || outcome === null) throw new Error("siteverify body is not an object");
  } catch (err) {
    throw new CaptchaUnavailableError("The bot check is unavailable right now. Try again shortly.", {
      cause: err,
      retryAfter: RETRY_AFTER_SECONDS,
    });
  }
  const refused =
    outcome.success !== true ||
    (cfg.hostname !== undefined && outcome.hostname !== cfg.hostname) ||
    (cfg.action !== undefined && outcome.action !== cfg.action);
  if (refused) throw new CaptchaFailedError("The bot check did not pass. Reload the page and try again.");
}
