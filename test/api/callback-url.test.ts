// The API's callback-URL check: IP literals, also IPv6 disguises of private IPv4, are refused with the field named.
import { describe, expect, it } from 'vitest';
import { checkCallbackUrl } from '../../src/api/callback-url.ts';
import { ApiError, httpStatusOf } from '../../src/api/errors.ts';

const DISGUISED = [
  'http://127.0.0.1/',
  'http://[::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:7f00:1]/',
  'http://[::127.0.0.1]/',
  'http://[::ffff:169.254.169.254]/latest/meta-data/',
  'http://[64:ff9b::7f00:1]/',
  'http://[2002:7f00:1::1]/',
  'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/',
  'https://[fe80::1]:8443/hook',
  'http://[fd00::1]/',
  'http://2130706433/',
  'http://0x7f.1/',
];

async function refusal(url: string, field?: string): Promise<ApiError> {
  const error = await checkCallbackUrl(url, false, field).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('checkCallbackUrl', () => {
  it.each(DISGUISED)('refuses %s with 400 naming callback_url (REST) or callbackUrl (tRPC)', async (url) => {
    const rest = await refusal(url);
    expect(httpStatusOf[rest.code]).toBe(400);
    expect(rest.field).toBe('callback_url');
    expect(rest.message).toMatch(/^callback_url: host .* is on a loopback or private network/);
    const trpc = await refusal(url, 'callbackUrl');
    expect(trpc.code).toBe('BAD_REQUEST');
    expect(trpc.field).toBe('callbackUrl');
    expect(trpc.message).toMatch(/^callbackUrl: /);
  });

  it.each(['http://8.8.8.8/hook', 'https://[2606:4700::1111]/hook', 'http://[2002:808:808::1]/'])(
    'accepts public literal %s',
    async (url) => {
      await expect(checkCallbackUrl(url, false)).resolves.toBeUndefined();
    },
  );

  it('accepts the disguised URLs when the config allows private networks', async () => {
    for (const url of DISGUISED) await expect(checkCallbackUrl(url, true)).resolves.toBeUndefined();
  });
});
