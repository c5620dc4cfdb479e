import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { describeZodError } from '../../src/shared/names.ts';
import { backupKeySchema, parseTargetUrl, safeKey, safeListPrefix } from '../../src/config/targets.ts';

const base = {
  connections: { dev: { socket: '/run/mysqld.sock', user: 'root' } },
  control: { connection: 'dev' },
};
const withTarget = (target: Record<string, unknown>) => () => parseConfig(JSON.stringify({ ...base, targets: { offsite: target } }));
const long = 'x'.repeat(1000);

describe('backup targets in the config file', () => {
  it('accepts s3 and file targets and defaults to none', () => {
    expect(parseConfig(JSON.stringify(base)).targets).toEqual({});
    const config = parseConfig(
      JSON.stringify({
        ...base,
        targets: {
          aws: { url: 's3://acme-backups/mysql/prod', region: 'eu-west-1', accessKeyIdEnv: 'BK_KEY', secretAccessKeyEnv: 'BK_SECRET' },
          minio: { url: 's3://backups', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true },
          local: { url: 'file:///var/backups/db' },
        },
      }),
    );
    expect(Object.keys(config.targets)).toEqual(['aws', 'minio', 'local']);
  });

  it.each([
    ['a ../ segment in an s3 prefix', { url: 's3://acme/../other' }, /targets\.offsite\.url: prefix must not contain \.\. segments/],
    [
      'a ../ segment deeper in an s3 prefix',
      { url: 's3://acme/a/b/../../../etc' },
      /targets\.offsite\.url: prefix must not contain \.\. segments/,
    ],
    ['a prefix starting with /', { url: 's3://acme//etc/passwd' }, /targets\.offsite\.url: prefix must not start with \//],
    ['a 1000-character url', { url: `s3://acme/${long}` }, /targets\.offsite\.url: must be at most 512 characters/],
    ['a backslash', { url: 's3://acme/a\\..\\b' }, /targets\.offsite\.url: must not contain backslashes/],
    ['a NUL character', { url: 's3://acme/a\u0000b' }, /targets\.offsite\.url: must not contain NUL or control characters/],
    ['a newline', { url: 'file:///var/backups\n/etc' }, /targets\.offsite\.url: must not contain NUL or control characters/],
    ['an upper-case bucket', { url: 's3://Acme/x' }, /targets\.offsite\.url: bucket "Acme" must be 3-63 lowercase/],
    ['a bucket with an underscore', { url: 's3://acme_backups' }, /targets\.offsite\.url: bucket "acme_backups"/],
    ['a two-letter bucket', { url: 's3://ab' }, /targets\.offsite\.url: bucket "ab"/],
    [
      'a bucket that looks like an IP address',
      { url: 's3://192.168.1.10/x' },
      /targets\.offsite\.url: bucket "192\.168\.1\.10" must not .* IP address/,
    ],
    ['a relative file path', { url: 'file://backups/db' }, /targets\.offsite\.url: a file target must be an absolute path/],
    ['a file path with ..', { url: 'file:///var/backups/../../etc' }, /targets\.offsite\.url: path must not contain \.\. segments/],
    [
      'a percent-encoded .. in a file path',
      { url: 'file:///var/%2e%2e/etc' },
      /targets\.offsite\.url: path must not contain \.\. segments/,
    ],
    ['a file target at /', { url: 'file:///' }, /targets\.offsite\.url: must name a directory, not \//],
    ['a query string', { url: 's3://acme/x?region=us-east-1' }, /targets\.offsite\.url: must not contain a query/],
    ['another scheme', { url: 'https://acme.s3.amazonaws.com/x' }, /targets\.offsite\.url: must start with s3:\/\/bucket or file:\/\/\//],
    ['an inline secret', { url: 's3://acme', secretAccessKey: 'hunter2' }, /targets\.offsite: .*secretAccessKey/],
    [
      'a key id without its secret',
      { url: 's3://acme', accessKeyIdEnv: 'K' },
      /targets\.offsite\.secretAccessKeyEnv: give accessKeyIdEnv and secretAccessKeyEnv together/,
    ],
    [
      'an env var name that is not one',
      { url: 's3://acme', accessKeyIdEnv: 'A B', secretAccessKeyEnv: 'S' },
      /targets\.offsite\.accessKeyIdEnv: must be an environment variable name/,
    ],
    ['an endpoint that is not http(s)', { url: 's3://acme', endpoint: 'ftp://x' }, /targets\.offsite\.endpoint: must be an http\(s\) URL/],
    [
      'an endpoint on a file target',
      { url: 'file:///var/b', endpoint: 'http://x' },
      /targets\.offsite\.endpoint: applies only to s3:\/\/ targets/,
    ],
  ])('refuses %s, naming the field', (_label, target, message) => {
    expect(withTarget(target)).toThrow(ConfigError);
    expect(withTarget(target)).toThrow(message);
  });

  it('refuses a hostile target name, naming it', () => {
    const config = JSON.stringify({ ...base, targets: { '../x': { url: 's3://acme' } } });
    expect(() => parseConfig(config)).toThrow(/targets\.\.\.\/x: /);
  });
});

describe('target URLs', () => {
  it('splits s3 URLs into bucket and prefix without slashes at the ends', () => {
    expect(parseTargetUrl('s3://acme')).toEqual({ kind: 's3', bucket: 'acme', prefix: '' });
    expect(parseTargetUrl('s3://acme/')).toEqual({ kind: 's3', bucket: 'acme', prefix: '' });
    expect(parseTargetUrl('s3://acme.eu/mysql/prod/')).toEqual({ kind: 's3', bucket: 'acme.eu', prefix: 'mysql/prod' });
  });

  it('turns file URLs into absolute roots, decoding percent escapes', () => {
    expect(parseTargetUrl('file:///var/backups/my%20db/')).toEqual({ kind: 'file', root: '/var/backups/my db' });
  });

  it('names the field it was given', () => {
    expect(() => parseTargetUrl('s3://acme/../x', 'target')).toThrow(/^target: prefix must not contain \.\. segments/);
  });
});

describe('object keys built from user input', () => {
  it.each([
    ['../', '../etc/passwd', /must not contain \.\. segments/],
    ['a .. segment in the middle', 'shop/../../x', /must not contain \.\. segments/],
    ['an absolute path', '/etc/passwd', /must not start with \//],
    ['1000 characters', long, /must be at most 512 bytes/],
    ['a backslash', 'shop\\..\\x', /must not contain backslashes/],
    ['a NUL character', 'shop\u0000.sql', /must not contain NUL or control characters/],
    ['an empty segment', 'shop//x', /must not contain empty segments/],
    ['a . segment', 'shop/./x', /must not contain \. segments/],
    ['an empty key', '', /must not be empty/],
  ])('safeKey refuses %s, naming the field', (_label, key, message) => {
    expect(() => safeKey(key, 'backupId')).toThrow(new RegExp(`^backupId: ${message.source}`));
  });

  it('safeKey returns keys that are safe unchanged', () => {
    expect(safeKey('shop/2026-02-09_08-46-34.sql.gz')).toBe('shop/2026-02-09_08-46-34.sql.gz');
  });

  it('backupKeySchema reports the path of the field inside a request', () => {
    const request = z.object({ backup: z.object({ key: backupKeySchema }) });
    const parsed = request.safeParse({ backup: { key: '../../etc/shadow' } });
    expect(parsed.success).toBe(false);
    expect(describeZodError(parsed.error!)).toBe('backup.key: must not contain .. segments');
  });

  it('list prefixes may be empty or end with a slash, and follow the same rules otherwise', () => {
    expect(safeListPrefix('')).toBe('');
    expect(safeListPrefix('shop/')).toBe('shop/');
    expect(() => safeListPrefix('../')).toThrow(/^prefix: must not contain \.\. segments/);
  });
});
