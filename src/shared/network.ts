// Which addresses count as loopback or private, for the callback-URL guard in the API and the worker.
import { isIP } from 'node:net';

// Loopback, private, link-local, CGNAT, multicast and reserved ranges: a callback there could
// reach internal services (SSRF), so it is refused unless the config allows private networks.
const V4_BLOCKED: Array<[number, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
].map(([base, bits]) => [ipv4ToInt(base as string), bits as number]);

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
}

/** True when the address is not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4mapped) return isPrivateAddress(v4mapped[1]!);
  if (isIP(address) === 4) {
    const n = ipv4ToInt(address);
    return V4_BLOCKED.some(([base, bits]) => bits === 0 || n >>> (32 - bits) === base >>> (32 - bits));
  }
  const a = address.toLowerCase();
  return (
    a === '::' ||
    a === '::1' ||
    a.startsWith('fc') ||
    a.startsWith('fd') ||
    a.startsWith('fe8') ||
    a.startsWith('fe9') ||
    a.startsWith('fea') ||
    a.startsWith('feb') ||
    a.startsWith('ff')
  );
}
