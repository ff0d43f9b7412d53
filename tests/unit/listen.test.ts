import os from 'node:os';
import { addressOf, reachableUrls } from '../../src/listen';

const ipv4 = () =>
  Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4')
    .map((i) => i.address);

describe('where a listener is reachable', () => {
  it('bound to one address: that address', () => {
    expect(reachableUrls({ address: '127.0.0.1', family: 'IPv4', port: 8080 })).toEqual(['http://127.0.0.1:8080']);
    expect(reachableUrls({ address: '::1', family: 'IPv6', port: 8080 })).toEqual(['http://[::1]:8080']);
    expect(addressOf({ address: '::', family: 'IPv6', port: 8080 })).toBe('[::]:8080');
  });

  it('bound to 0.0.0.0: every IPv4 address of this machine, loopback first', () => {
    const urls = reachableUrls({ address: '0.0.0.0', family: 'IPv4', port: 8080 });
    expect(urls[0]).toBe('http://127.0.0.1:8080');
    expect([...urls].sort()).toEqual([...new Set(ipv4())].map((a) => `http://${a}:8080`).sort());
  });

  it('bound to ::, IPv6 addresses too (in brackets), but not link-local ones, which need a zone', () => {
    const urls = reachableUrls({ address: '::', family: 'IPv6', port: 8080 });
    expect(urls.slice(0, 2)).toEqual(['http://127.0.0.1:8080', 'http://[::1]:8080']);
    for (const address of ipv4()) expect(urls).toContain(`http://${address}:8080`);
    expect(urls.filter((url) => /\[fe80:/i.test(url))).toEqual([]);
  });
});
