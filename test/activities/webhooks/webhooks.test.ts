// Webhook signing and the private-network guard.
import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { signBody } from '../../../src/activities/webhooks/deliver-webhook.ts';
import { isPrivateAddress } from '../../../src/shared/network.ts';
import { verifySignature } from '../../harness/webhook-receiver.ts';

describe('webhook signing and the private-network guard', () => {
  it('signs the exact body with hex HMAC-SHA256', () => {
    const body = '{"id":"x","status":"running"}';
    expect(signBody(body, 'secret')).toBe(createHmac('sha256', 'secret').update(body).digest('hex'));
    expect(verifySignature(body, signBody(body, 'secret'), 'secret')).toBe(true);
    expect(verifySignature(`${body} `, signBody(body, 'secret'), 'secret')).toBe(false);
    expect(verifySignature(body, signBody(body, 'secret'), 'other')).toBe(false);
  });
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fd00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
  ])('treats %s as private', (ip) => expect(isPrivateAddress(ip)).toBe(true));
  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700::1111'])('treats %s as public', (ip) => expect(isPrivateAddress(ip)).toBe(false));
});
