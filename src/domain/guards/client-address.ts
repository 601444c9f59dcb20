/**
 * The key for per-client limits: the IPv4 address, or the /64 prefix of an
 * IPv6 address (one subscriber usually holds a whole /64, so counting single
 * IPv6 addresses would let one client rotate through billions of them). An
 * IPv4-mapped IPv6 address (`::ffff:198.51.100.7`, or `::ffff:c633:6407`) is
 * its IPv4 client. Cloudflare sets CF-Connecting-IP and clients cannot forge
 * it there.
 *
 * A request with no address (never at Cloudflare's edge; in tests, or behind
 * a proxy that drops the header) gets the key `unknown`: all such requests
 * share one client's limits, so a missing header buys nobody extra sends.
 */
export function clientKey(address: string | undefined): string {
  const ip = (address ?? "").trim().toLowerCase();
  if (ip === "") return "unknown";
  if (!ip.includes(":")) return ip;
  const groups = expandIpv6(ip);
  if (groups === undefined) return ip;
  const mapped = ipv4Mapped(groups);
  if (mapped !== undefined) return mapped;
  return `${groups.slice(0, 4).join(":")}::/64`;
}

/**
 * The client as one number's limits see it (the per-client cooldown, hourly
 * sends and wrong-guess lock, and the "signed in here before" trust): the
 * IPv4 address, or the /48 of an IPv6 address. Not the /64: one home or
 * office routinely holds a /56 (256 /64s) and a tunnel broker hands out a
 * /48 for free, so keyed on the /64, one person would count as many clients
 * and fill the number-wide ceilings that hold strangers back. A /48 is the
 * largest block commonly assigned to a single customer.
 */
export function numberClientKey(address: string | undefined): string {
  const at48 = clientPrefixes(address).find((p) => p.prefix === 48);
  return at48 === undefined ? clientKey(address) : at48.key;
}

/**
 * How one number's limits see a client: its key (numberClientKey); whether
 * that key may stand for many people (`shared`: an IPv4 address of a carrier
 * in CARRIER_ASNS, behind its NAT, or an IPv6 /48, which holds up to 256
 * homes of an ISP that gives each a /56), so that its wrong guesses throttle
 * instead of lock; and the key a sign-in is remembered under for the
 * "signed in here before" trust (the IPv4 address, the IPv6 /64; none for a
 * carrier's NAT address, which says nothing about who is behind it).
 */
export function numberClient(
  address: string | undefined,
  asn: number | undefined,
  carrierAsns: readonly number[],
): { client: string; shared: boolean; trustKey: string | null } {
  const client = numberClientKey(address);
  const carrierNat = asn !== undefined && carrierAsns.includes(asn) && !client.includes(":");
  return {
    client,
    shared: carrierNat || client.endsWith("::/48"),
    // A request with no address is anyone's: having signed in without one proves nothing either.
    trustKey: carrierNat || client === "unknown" ? null : clientKey(address),
  };
}

/**
 * Every key a client's sends are counted under, narrowest first: an IPv4
 * address alone; an IPv6 address at /64 (its clientKey), /56 and /48, each
 * with a larger limit (a home or office usually gets a /56 or /48, and a
 * tunnel broker hands out a /48 for free: 65,536 /64s that would otherwise
 * each get the per-address limit).
 */
export function clientPrefixes(address: string | undefined): { key: string; prefix: 32 | 64 | 56 | 48 }[] {
  const key = clientKey(address);
  if (!key.endsWith("::/64")) return [{ key, prefix: key.includes(":") ? 64 : 32 }];
  const groups = key.slice(0, -"::/64".length).split(":");
  const g3 = parseInt(groups[3]!, 16);
  const at56 = [...groups.slice(0, 3), (g3 & 0xff00).toString(16)].join(":");
  return [
    { key, prefix: 64 },
    { key: `${at56}::/56`, prefix: 56 },
    { key: `${groups.slice(0, 3).join(":")}::/48`, prefix: 48 },
  ];
}

/**
 * The end user's address when an app's backend calls /send-otp for its users
 * (one address for all of them): the `X-OTP-Client-IP` header, honoured only
 * when `X-OTP-Proxy-Secret` equals TRUSTED_PROXY_SECRET (compared in constant
 * time). Undefined when there is no secret, no header or the wrong secret:
 * the request then counts against the address it came from.
 */
export async function proxiedClientAddress(
  secret: string | undefined,
  sentSecret: string | undefined,
  forwardedAddress: string | undefined,
): Promise<string | undefined> {
  if (secret === undefined || sentSecret === undefined || forwardedAddress === undefined) return undefined;
  const address = forwardedAddress.trim();
  if (address === "" || address.length > 64 || !isIpAddress(address)) return undefined;
  const digest = async (v: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(v));
  const [want, got] = await Promise.all([digest(secret), digest(sentSecret)]);
  return crypto.subtle.timingSafeEqual(want, got) ? address : undefined;
}

/** The eight groups of an IPv6 address, without leading zeros; a dotted IPv4 tail becomes two groups. */
function expandIpv6(ip: string): string[] | undefined {
  let text = ip.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const dotted = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number];
    if ([a, b, c, d].some((n) => n > 255)) return undefined;
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail, ...rest] = text.split("::");
  if (rest.length > 0) return undefined;
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...new Array<string>(Math.max(0, missing)).fill("0"), ...right];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.replace(/^0+(?=.)/, ""));
}

/** `::ffff:a.b.c.d` as `a.b.c.d`. */
function ipv4Mapped(groups: readonly string[]): string | undefined {
  if (!groups.slice(0, 5).every((g) => g === "0") || groups[5] !== "ffff") return undefined;
  const hi = parseInt(groups[6]!, 16);
  const lo = parseInt(groups[7]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
}

/** A well-formed IPv4 address (four numbers 0-255, no leading zeros) or IPv6 address; anything else is not an address. */
function isIpAddress(text: string): boolean {
  if (!text.includes(":")) {
    const parts = text.split(".");
    return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
  }
  return expandIpv6(text.toLowerCase()) !== undefined;
}
