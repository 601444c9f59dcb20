import { describe, expect, it } from "vitest";
import { clientKey, numberClient } from "../../src/domain/guards/client-address";

describe("clientKey: the key of per-client limits", () => {
  it.each<[string | undefined, string, string]>([
    ["198.51.100.7", "198.51.100.7", "IPv4 as it is"],
    ["::ffff:198.51.100.7", "198.51.100.7", "an IPv4-mapped IPv6 address is its IPv4 client"],
    ["::FFFF:198.51.100.7", "198.51.100.7", "in capitals"],
    ["::ffff:c633:6407", "198.51.100.7", "the mapped address in hex"],
    ["0:0:0:0:0:ffff:c633:6407", "198.51.100.7", "written out in full"],
    ["2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::/64", "IPv6 by its /64"],
    ["2001:0db8:00aa:00bb::ffff:1", "2001:db8:aa:bb::/64", "leading zeros and :: do not make a new client"],
    ["2001:DB8:AA:BB::1", "2001:db8:aa:bb::/64", "capitals do not make a new client"],
    ["", "unknown", "no address: every such request shares one client's limits"],
    [undefined, "unknown", "no header at all"],
  ])("%j → %j (%s)", (address, key, _why) => {
    expect(clientKey(address)).toBe(key);
  });
});

describe("numberClient: how one number's limits see a client", () => {
  it.each<[string | undefined, number | undefined, { client: string; shared: boolean; trustKey: string | null }]>([
    ["198.51.100.7", 64500, { client: "198.51.100.7", shared: false, trustKey: "198.51.100.7" }],
    ["100.64.1.1", 55836, { client: "100.64.1.1", shared: true, trustKey: null }],
    ["2001:db8:aa:bb::1", 64500, { client: "2001:db8:aa::/48", shared: true, trustKey: "2001:db8:aa:bb::/64" }],
    ["2405:200:1:2::9", 55836, { client: "2405:200:1::/48", shared: true, trustKey: "2405:200:1:2::/64" }],
    // No address: anyone's, so it earns no trust.
    [undefined, undefined, { client: "unknown", shared: false, trustKey: null }],
  ])("%s (AS %s)", (address, asn, expected) => {
    expect(numberClient(address, asn, [55836])).toEqual(expected);
  });
});
