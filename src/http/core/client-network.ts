import type { Context } from "hono";
import { proxiedClientAddress } from "../../domain/guards/client-address";
import type { ConfiguredEnv } from "./app-env";

/** Cloudflare's request.cf.asn: the network the request came from (absent outside Cloudflare's edge). */
export function asnOf(request: Request): number | undefined {
  const asn = (request.cf as { asn?: unknown } | undefined)?.asn;
  return typeof asn === "number" && Number.isInteger(asn) ? asn : undefined;
}

/**
 * The client a request counts against: its CF-Connecting-IP address and
 * network; or, when an app's backend calls for its user with the trusted
 * proxy secret (docs/scale.md, "Calling /send-otp from your backend"), the
 * user's address it names and the user's network if it names that too
 * (`X-OTP-Client-ASN`, so a user behind a carrier's NAT keeps the carrier
 * rules), else none (the backend's network is not the user's).
 */
export async function requestClient(
  c: Context<ConfiguredEnv>,
): Promise<{ address: string | undefined; asn: number | undefined }> {
  const proxied = await proxiedClientAddress(
    c.get("settings").clients.trustedProxySecret,
    c.req.header("x-otp-proxy-secret"),
    c.req.header("x-otp-client-ip"),
  );
  if (proxied === undefined) return { address: c.req.header("cf-connecting-ip"), asn: asnOf(c.req.raw) };
  const asn = /^\d{1,10}$/.exec(c.req.header("x-otp-client-asn")?.trim() ?? "")?.[0];
  return { address: proxied, asn: asn === undefined ? undefined : Number(asn) };
}
