// Webhook URLs are checked before a run starts: http(s), no credentials, no private network unless allowed.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { bareHost, isPrivateAddress } from '../shared/network.ts';
import { ApiError } from './errors.ts';

/**
 * Refuses callback URLs that are not http(s) or that point at loopback or private networks
 * (unless the config allows them). The worker checks the connected address again at delivery.
 */
export async function checkCallbackUrl(raw: string, allowPrivate: boolean, field = 'callback_url'): Promise<void> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('BAD_REQUEST', 'must be an absolute http(s) URL', field);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ApiError('BAD_REQUEST', 'must use http or https', field);
  if (url.username || url.password) throw new ApiError('BAD_REQUEST', 'must not contain credentials', field);
  if (allowPrivate) return;
  // An IP literal is judged as written (brackets stripped; the URL parser gives IPv6 in hex, so
  // `[::ffff:127.0.0.1]` arrives as `::ffff:7f00:1`); a name by every address it resolves to.
  const host = bareHost(url.hostname);
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    throw new ApiError('BAD_REQUEST', `host ${host} does not resolve`, field);
  }
  if (addresses.some(isPrivateAddress)) {
    throw new ApiError(
      'BAD_REQUEST',
      `host ${host} is on a loopback or private network; set webhooks.allowPrivateNetworks in the config to allow it`,
      field,
    );
  }
}
