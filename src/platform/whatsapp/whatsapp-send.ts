/**
 * Sends a one-time code as a WhatsApp authentication template through the
 * Cloud API (Graph API): `POST {baseUrl}/{apiVersion}/{phoneNumberId}/messages`.
 * The code goes in twice, as the body's parameter and as the parameter of
 * the template's button (a copy-code, one-tap or zero-tap button is a `url`
 * button, index 0, once created). The access token travels only in the
 * Authorization header and appears in no error; neither does Meta's own text.
 */

export interface WhatsAppSendOptions {
  /** `https://graph.facebook.com`, or a fake's address in tests. */
  baseUrl: string;
  /** The pinned Graph API version, e.g. `v25.0`. */
  apiVersion: string;
  phoneNumberId: string;
  accessToken: string;
  templateName: string;
  /** The template's language code, e.g. `en_US`. */
  language: string;
  /** The recipient in E.164 (`+919876543210`); sent as digits with the country code. */
  to: string;
  code: string;
  /** Comes back as `biz_opaque_callback_data` in every status webhook (at most 512 characters). */
  callbackData?: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * - `recipient_unreachable`: Meta will not deliver to this number now (not on
 *   WhatsApp, too old a client, or held back by Meta); fall back to SMS.
 * - `misconfigured`: the template or the token is wrong; `settings` names what to check.
 * - `unknown`: no answer, a server error or an unreadable answer: the message may have gone out.
 * - `refused`: any other refusal; nothing was sent.
 */
export type WhatsAppFailureKind = "recipient_unreachable" | "misconfigured" | "unknown" | "refused";

export class WhatsAppSendError extends Error {
  readonly kind: WhatsAppFailureKind;
  /** Whether the same send could succeed if tried again in a few minutes. */
  readonly retryable: boolean;
  /** The settings to check, for `misconfigured`. */
  readonly settings: readonly string[];
  /** Meta's error code (`error.code`), when it sent one. */
  readonly code?: number;
  readonly subcode?: number;
  readonly httpStatus?: number;
  /** Meta's trace id of the failed call, for its support; not a secret. */
  readonly fbtraceId?: string;

  constructor(failure: {
    kind: WhatsAppFailureKind;
    retryable: boolean;
    reason: string;
    settings?: readonly string[];
    code?: number;
    subcode?: number;
    httpStatus?: number;
    fbtraceId?: string;
  }) {
    const { kind, retryable, reason, settings = [], code, subcode, httpStatus, fbtraceId } = failure;
    super(
      [
        `whatsapp ${kind}: ${reason}`,
        code === undefined ? "" : ` (Graph error ${code})`,
        settings.length ? `; check ${settings.join(", ")}` : "",
      ].join(""),
    );
    this.name = "WhatsAppSendError";
    this.kind = kind;
    this.retryable = retryable;
    this.settings = settings;
    if (code !== undefined) this.code = code;
    if (subcode !== undefined) this.subcode = subcode;
    if (httpStatus !== undefined) this.httpStatus = httpStatus;
    if (fbtraceId !== undefined) this.fbtraceId = fbtraceId;
  }
}

export const WHATSAPP_SETTINGS = {
  accessToken: "WHATSAPP_ACCESS_TOKEN",
  phoneNumberId: "WHATSAPP_PHONE_NUMBER_ID",
  templateName: "WHATSAPP_TEMPLATE_NAME",
  language: "WHATSAPP_TEMPLATE_LANGUAGE",
} as const;

/** The longest code an authentication template takes. */
export const WHATSAPP_CODE_MAX_LENGTH = 15;
export const WHATSAPP_CALLBACK_DATA_MAX_LENGTH = 512;

/** Meta will not deliver to this recipient; retrying the same number soon does not help. */
const RECIPIENT_UNREACHABLE: Record<number, string> = {
  131026: "the number is not on WhatsApp, has not accepted the terms, or its app is too old",
  131047: "more than 24 hours since the user's last message (not expected for a template)",
  131049: "Meta held the message back for ecosystem engagement; Meta asks not to retry for 24 hours",
};

const MISCONFIGURED: Record<number, { reason: string; settings: readonly string[] }> = {
  132001: {
    reason: "the template does not exist in this language, or is not approved",
    settings: [WHATSAPP_SETTINGS.templateName, WHATSAPP_SETTINGS.language],
  },
  132015: { reason: "the template is paused", settings: [WHATSAPP_SETTINGS.templateName] },
  132016: { reason: "the template is disabled", settings: [WHATSAPP_SETTINGS.templateName] },
  190: { reason: "the access token is expired or invalid", settings: [WHATSAPP_SETTINGS.accessToken] },
};

const REFUSED: Record<number, { reason: string; retryable: boolean }> = {
  130429: { reason: "the Cloud API throughput limit was reached", retryable: true },
  131056: { reason: "too many messages to this number in a short time", retryable: true },
  132000: { reason: "the template's parameters do not match what was sent", retryable: false },
  132012: { reason: "the template's parameters do not match what was sent", retryable: false },
  131000: { reason: "Meta reported an unknown error", retryable: true },
  131016: { reason: "the Cloud API is unavailable", retryable: true },
  133004: { reason: "the Cloud API is unavailable", retryable: true },
};

/** The send's JSON body, exactly as the Cloud API takes an authentication template. */
export function whatsAppMessageBody(
  opts: Pick<WhatsAppSendOptions, "templateName" | "language" | "to" | "code" | "callbackData">,
): Record<string, unknown> {
  const parameters = [{ type: "text", text: opts.code }];
  return {
    messaging_product: "whatsapp",
    recipient_type: "individual",
    to: opts.to.replace(/^\+/, ""),
    type: "template",
    template: {
      name: opts.templateName,
      language: { code: opts.language },
      components: [
        { type: "body", parameters },
        { type: "button", sub_type: "url", index: "0", parameters },
      ],
    },
    ...(opts.callbackData !== undefined ? { biz_opaque_callback_data: opts.callbackData } : {}),
  };
}

/** Sends the code; resolves with the message's `wamid…` id or throws WhatsAppSendError. */
export async function sendWhatsAppCode(opts: WhatsAppSendOptions): Promise<{ messageId: string }> {
  checkOptions(opts);
  const fetcher = opts.fetch ?? ((input, init) => fetch(input, init));
  const url = `${opts.baseUrl.replace(/\/+$/, "")}/${encodeURIComponent(opts.apiVersion)}/${encodeURIComponent(opts.phoneNumberId)}/messages`;
  let response: Response;
  let text: string;
  try {
    response = await fetcher(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${opts.accessToken}`,
        "content-type": "application/json",
        accept: "application/json",
      },
      body: JSON.stringify(whatsAppMessageBody(opts)),
      // A token in a header must never follow a redirect to another host.
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    text = await response.text();
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    throw new WhatsAppSendError({
      kind: "unknown",
      retryable: true,
      reason: timedOut
        ? `no answer within ${opts.timeoutMs} ms`
        : `network error: ${err instanceof Error ? err.name : typeof err}`,
    });
  }
  return readAnswer(response.status, text);
}

function readAnswer(httpStatus: number, text: string): { messageId: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const ok = httpStatus >= 200 && httpStatus < 300;
  if (ok) {
    const id = isObject(body) && Array.isArray(body.messages) ? idOf(body.messages[0]) : undefined;
    if (id !== undefined) return { messageId: id };
    throw new WhatsAppSendError({
      kind: "unknown",
      retryable: true,
      reason: body === undefined ? "answer is not JSON" : "answer has no message id",
      httpStatus,
    });
  }
  const error = isObject(body) && isObject(body.error) ? body.error : undefined;
  const code = typeof error?.code === "number" ? error.code : undefined;
  const extra = {
    httpStatus,
    ...(code !== undefined ? { code } : {}),
    ...(typeof error?.error_subcode === "number" ? { subcode: error.error_subcode } : {}),
    ...(typeof error?.fbtrace_id === "string" && /^[\w-]{1,64}$/.test(error.fbtrace_id)
      ? { fbtraceId: error.fbtrace_id }
      : {}),
  };
  if (code !== undefined && RECIPIENT_UNREACHABLE[code]) {
    throw new WhatsAppSendError({
      kind: "recipient_unreachable",
      retryable: false,
      reason: RECIPIENT_UNREACHABLE[code],
      ...extra,
    });
  }
  const config = code !== undefined ? MISCONFIGURED[code] : undefined;
  if (config) throw new WhatsAppSendError({ kind: "misconfigured", retryable: false, ...config, ...extra });
  if (httpStatus >= 500) {
    throw new WhatsAppSendError({ kind: "unknown", retryable: true, reason: "Cloud API server error", ...extra });
  }
  if (code === undefined && httpStatus === 401) {
    throw new WhatsAppSendError({
      kind: "misconfigured",
      retryable: false,
      reason: "the Cloud API refused the access token",
      settings: [WHATSAPP_SETTINGS.accessToken],
      ...extra,
    });
  }
  const known = code !== undefined ? REFUSED[code] : undefined;
  throw new WhatsAppSendError({
    kind: "refused",
    retryable: known?.retryable ?? httpStatus === 429,
    reason: known?.reason ?? (code === undefined ? "refused without a Graph error" : "refused"),
    ...extra,
  });
}

/** What can be told before calling: nothing goes out with an empty setting or a malformed number or code. */
function checkOptions(opts: WhatsAppSendOptions): void {
  const missing = [
    opts.accessToken ? undefined : WHATSAPP_SETTINGS.accessToken,
    /^\d{1,32}$/.test(opts.phoneNumberId) ? undefined : WHATSAPP_SETTINGS.phoneNumberId,
    opts.templateName ? undefined : WHATSAPP_SETTINGS.templateName,
    opts.language ? undefined : WHATSAPP_SETTINGS.language,
  ].filter((s) => s !== undefined);
  if (missing.length) {
    throw new WhatsAppSendError({
      kind: "misconfigured",
      retryable: false,
      reason: "a setting is empty or malformed",
      settings: missing,
    });
  }
  const problem = !/^\+?[1-9]\d{6,14}$/.test(opts.to)
    ? "the number is not in E.164 form"
    : opts.code.length === 0 || opts.code.length > WHATSAPP_CODE_MAX_LENGTH
      ? `the code must be 1 to ${WHATSAPP_CODE_MAX_LENGTH} characters`
      : opts.callbackData !== undefined && opts.callbackData.length > WHATSAPP_CALLBACK_DATA_MAX_LENGTH
        ? `the callback data is longer than ${WHATSAPP_CALLBACK_DATA_MAX_LENGTH} characters`
        : undefined;
  if (problem) throw new WhatsAppSendError({ kind: "refused", retryable: false, reason: problem });
}

function idOf(message: unknown): string | undefined {
  return isObject(message) && typeof message.id === "string" && message.id !== "" ? message.id : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
