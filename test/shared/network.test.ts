// The private-network guard, judged on the bytes of the address: every disguise of a private IPv4 as IPv6 is refused.
import { describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../src/shared/network.ts';

describe('isPrivateAddress', () => {
  it.each([
    // IPv4 ranges
    '127.0.0.1',
    '127.255.255.254',
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '100.127.255.255',
    '169.254.169.254',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '198.19.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '198.51.100.7',
    '203.0.113.9',
    // IPv6 ranges
    '::1',
    '::',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'fec0::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '2001:db8::1',
    // IPv4-mapped, textual and hex, and with brackets as in a URL
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '[::ffff:7f00:1]',
    '[::ffff:127.0.0.1]',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '0:0:0:0:0:ffff:10.0.0.1',
    '::FFFF:C0A8:0101',
    // IPv4-compatible (deprecated)
    '::127.0.0.1',
    '::7f00:1',
    '::8.8.8.8',
    // IPv4-translated (SIIT)
    '::ffff:0:7f00:1',
    // NAT64 with a private v4, and the local-use NAT64 prefix
    '64:ff9b::127.0.0.1',
    '64:ff9b::7f00:1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b:1::808:808',
    // 6to4 with a private v4
    '2002:7f00:1::1',
    '2002:a9fe:a9fe::1',
    '2002:c0a8:101::',
    '2002:0a00:0001:0000:0000:0000:0000:0001',
    // Teredo and the other IETF assignments in 2001::/23
    '2001::1',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '2001:2::1',
    // not an address at all: fail closed
    'localhost',
    '',
    '1.2.3',
    '::ffff:1.2.3.256',
  ])('refuses %s', (address) => expect(isPrivateAddress(address)).toBe(true));

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '198.20.0.1',
    '2606:4700::1111',
    '[2606:4700::1111]',
    '2a00:1450:4001:80b::200e',
    '2002:0808:0808::1',
    '2002:808:808::1',
    '64:ff9b::8.8.8.8',
    '64:ff9b::808:808',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '2001:200::1',
  ])('allows %s', (address) => expect(isPrivateAddress(address)).toBe(false));
});
