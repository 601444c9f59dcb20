/**
 * The key for per-client limits: the IPv4 address, or the /64 prefix of an
 * IPv6 address (one subscriber usually holds a whole /64, so counting single
 * IPv6 addresses would let one client rotate through billions of them).
 * Cloudflare sets CF-Connecting-IP and clients cannot forge it there.
 */
export function clientKey(address: string | undefined): string {
  const ip = (address ?? "").trim();
  if (ip === "") return "unknown";
  if (!ip.includes(":")) return ip;
  return `${expandIpv6(ip).slice(0, 4).join(":")}::/64`;
}

function expandIpv6(ip: string): string[] {
  const [head = "", tail] = ip.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...new Array<string>(Math.max(0, missing)).fill("0"), ...right].map((g) =>
    g.toLowerCase().replace(/^0+(?=.)/, ""),
  );
}
