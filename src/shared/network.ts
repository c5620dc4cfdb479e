// Which addresses count as loopback or private, for the callback-URL guard in the API and the worker.
import { BlockList, SocketAddress, isIP } from 'node:net';

// Loopback, private, link-local, CGNAT, multicast and reserved ranges: a callback there could
// reach internal services (SSRF), so it is refused unless the config allows private networks.
const V4_BLOCKED: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
];

// IPv6 ranges refused outright. The ranges that embed an IPv4 address (mapped, NAT64, 6to4) are
// unwrapped first and judged by the embedded address; see embeddedIpv4.
const V6_BLOCKED: Array<[string, number]> = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d
  ['::ffff:0:0:0', 96], // IPv4-translated (SIIT)
  ['64:ff9b:1::', 48], // local-use NAT64: the embedded address is not at a fixed place
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments, Teredo 2001::/32 among them
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const blocked = new BlockList();
for (const [base, bits] of V4_BLOCKED) blocked.addSubnet(base, bits, 'ipv4');
for (const [base, bits] of V6_BLOCKED) blocked.addSubnet(base, bits, 'ipv6');

/** Strips the brackets of a URL host and an IPv6 zone id (`fe80::1%eth0`). */
export function bareHost(host: string): string {
  let bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const zone = bare.indexOf('%');
  if (zone >= 0 && isIP(bare) === 6) bare = bare.slice(0, zone);
  return bare;
}

/** The 16 bytes of an IPv6 address, from the canonical form the WHATWG URL parser gives it. */
function ipv6Bytes(address: string): number[] {
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1); // hex groups only, lowercase
  const [head = '', tail] = canonical.split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const headGroups = groupsOf(head);
  const tailGroups = tail === undefined ? [] : groupsOf(tail);
  const groups = [...headGroups, ...new Array<number>(8 - headGroups.length - tailGroups.length).fill(0), ...tailGroups];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function startsWith(bytes: number[], prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/** The IPv4 address an IPv6 address stands for: IPv4-mapped, NAT64 well-known prefix, 6to4. */
function embeddedIpv4(bytes: number[]): string | undefined {
  let v4: number[] | undefined;
  if (startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]))
    v4 = bytes.slice(12); // ::ffff:a.b.c.d
  else if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]))
    v4 = bytes.slice(12); // 64:ff9b::/96
  else if (startsWith(bytes, [0x20, 0x02])) v4 = bytes.slice(2, 6); // 2002::/16
  return v4?.join('.');
}

function isBlockedIpv4(address: string): boolean {
  return blocked.check(new SocketAddress({ address, family: 'ipv4' }));
}

/**
 * True when the address is not a public unicast address: loopback, private, link-local, CGNAT,
 * multicast, reserved or documentation, also when disguised as IPv6 (mapped, NAT64, 6to4, Teredo).
 * Brackets are accepted (`[::1]`). Anything that is not an IP address counts as private.
 */
export function isPrivateAddress(address: string): boolean {
  const bare = bareHost(address);
  const family = isIP(bare);
  if (family === 4) return isBlockedIpv4(new URL(`http://${bare}/`).hostname);
  if (family !== 6) return true;
  const bytes = ipv6Bytes(bare);
  const v4 = embeddedIpv4(bytes);
  if (v4 !== undefined) return isBlockedIpv4(v4);
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return blocked.check(new SocketAddress({ address: canonical, family: 'ipv6' }));
}
