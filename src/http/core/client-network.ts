/** Cloudflare's request.cf.asn: the network the request came from (absent outside Cloudflare's edge). */
export function asnOf(request: Request): number | undefined {
  const asn = (request.cf as { asn?: unknown } | undefined)?.asn;
  return typeof asn === "number" && Number.isInteger(asn) ? asn : undefined;
}
