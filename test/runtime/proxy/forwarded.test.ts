/** Who the client is behind trusted proxies (runtime/proxy/forwarded.ts, trusted.ts). */
import fc from 'fast-check';
import { BlockList, isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { clientOf, forwardingHeaders, nodeAddress } from '../../../src/runtime/proxy/forwarded.ts';
import { peerEntryProblem as entryProblem } from '../../../src/config/peers.ts';
import { ipv4Number, trusts } from '../../../src/runtime/proxy/trusted.ts';

const local = trusts(['127.0.0.1', '::1']);
const peer = (address: string | undefined, port = 40000) => ({ address, port });

describe('forwarded_allow_ips', () => {
  it('matches addresses and CIDR ranges, IPv4 and IPv6, and IPv4 in its IPv6 form', () => {
    const t = trusts(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1']);
    expect(t('10.200.3.4')).toBe(true);
    expect(t('::ffff:10.200.3.4')).toBe(true);
    expect(t('11.0.0.1')).toBe(false);
    expect(t('192.168.1.7')).toBe(true);
    expect(t('192.168.1.8')).toBe(false);
    expect(t('fd12::5')).toBe(true);
    expect(t('fe80::1')).toBe(false);
    expect(t('::1')).toBe(true);
    expect(t('not an address')).toBe(false);
  });

  it('matches an IPv4 range written in IPv6 (IPv4-mapped, or an IPv6 range that holds them) as it matches IPv4', () => {
    expect(trusts(['::ffff:10.0.0.0/104'])('10.1.2.3')).toBe(true);
    expect(trusts(['::ffff:10.0.0.0/104'])('11.1.2.3')).toBe(false);
    expect(trusts(['::/0'])('203.0.113.9')).toBe(true);
    expect(trusts(['::/80'])('203.0.113.9')).toBe(true);
    expect(trusts(['::/96', '::1'])('203.0.113.9')).toBe(false);
    // Hex-written IPv4-mapped against an IPv4 entry.
    expect(trusts(['1.2.0.0/16'])('::ffff:102:304')).toBe(true);
  });

  it('answers as one node:net BlockList of every entry does, for any list and address', () => {
    // What trusts() was before its IPv4 entries were matched without BlockList.
    const reference = (list: string[]) => {
      const blocks = new BlockList();
      for (const entry of list) {
        const [address, prefix] = entry.split('/') as [string, string | undefined];
        const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
        if (prefix === undefined) blocks.addAddress(address, type);
        else blocks.addSubnet(address, Number(prefix), type);
      }
      return (address: string) => {
        const plain = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
        const family = isIP(plain);
        return family !== 0 && blocks.check(plain, family === 4 ? 'ipv4' : 'ipv6');
      };
    };
    const ipv4 = fc.oneof(fc.ipV4(), fc.constantFrom('10.0.0.1', '10.255.255.255', '0.0.0.0', '255.255.255.255', '127.0.0.1'));
    const ipv6 = fc.oneof(fc.ipV6(), ipv4.map((a) => `::ffff:${a}`), ipv4.map((a) => `::FFFF:${a}`), fc.constantFrom('::', '::1', '::ffff:0:0', '::ffff:a00:1', 'fd00::1'));
    const entry = fc.oneof(
      ipv4,
      fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
      ipv6,
      fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`),
      fc.tuple(ipv4, fc.integer({ min: 96, max: 128 })).map(([a, p]) => `::ffff:${a}/${p}`),
    );
    fc.assert(
      fc.property(fc.array(entry.filter((e) => entryProblem(e) === null), { maxLength: 4 }), fc.array(fc.oneof(ipv4, ipv6), { minLength: 1, maxLength: 8 }), (list, addresses) => {
        const fast = trusts(list);
        const slow = reference(list);
        for (const address of addresses) {
          expect(fast(address)).toBe(slow(address));
          // The numeric check a worker makes of each PROXY peer answers as the text one.
          const n = ipv4Number(address);
          if (n >= 0) expect(fast.ipv4(n)).toBe(slow(address));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('trusts a unix socket peer only when the list names "unix" (or "*"), and anyone with "*"', () => {
    expect(local(undefined)).toBe(false);
    expect(trusts(['unix'])(undefined)).toBe(true);
    expect(trusts(['unix'])('127.0.0.1')).toBe(false);
    expect(trusts('*')('203.0.113.9')).toBe(true);
    expect(trusts(['*'])(undefined)).toBe(true);
    expect(trusts([])('127.0.0.1')).toBe(false);
  });

  it.each([
    ['10.0.0.0/8', null],
    ['::1', null],
    ['*', null],
    ['unix', null],
    ['10.0.0.0/33', '"10.0.0.0/33": the prefix length after / must be 0 to 32'],
    ['fd00::/129', '"fd00::/129": the prefix length after / must be 0 to 128'],
    ['10.0.0/8', '"10.0.0/8" is not an IP address, a CIDR range, "*" or "unix"'],
    ['localhost', '"localhost" is not an IP address, a CIDR range, "*" or "unix"'],
    ['10.0.0.1/', '"10.0.0.1/": the prefix length after / must be 0 to 32'],
  ])('checks the entry %j', (entry, problem) => {
    expect(entryProblem(entry)).toBe(problem);
  });
});

describe('the parts read on every request', () => {
  it('ipv4Number reads what isIP calls IPv4, and nothing else', () => {
    const dotted = fc.string({ maxLength: 17, unit: fc.constantFrom(...'0123456789.'.split('')) });
    const near = fc.oneof(fc.ipV4(), dotted, fc.string({ maxLength: 17 }), fc.ipV4().map((a) => ` ${a}`), fc.ipV4().map((a) => `${a}.`), fc.ipV4().map((a) => a.replace(/\b(\d)\b/, '0$1')));
    fc.assert(
      fc.property(near, (text) => {
        const n = ipv4Number(text);
        expect(n >= 0, text).toBe(isIP(text) === 4);
        if (n >= 0) expect(n).toBe(text.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0));
      }),
      { numRuns: 5000 },
    );
  });

  it("forwardingHeaders reads from the raw headers what Node's req.headers holds", () => {
    const name = fc.constantFrom('X-Forwarded-For', 'x-forwarded-for', 'X-FORWARDED-FOR', 'X-Forwarded-Proto', 'x-forwarded-proto', 'Forwarded', 'forwarded', 'Host', 'X-Forwarded-Host', 'Forwarded-For', 'X-Real-IP');
    const value = fc.string({ minLength: 1, maxLength: 20, unit: fc.constantFrom(...'0123456789.:, =;abc'.split('')) });
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (pairs) => {
        const raw = pairs.flat();
        const req = new IncomingMessage(new Socket());
        // What Node's HTTP parser calls with the headers it read.
        (req as unknown as { _addHeaderLines(raw: string[], n: number): void })._addHeaderLines(raw, raw.length);
        const found = forwardingHeaders(req.rawHeaders);
        for (const key of ['forwarded', 'x-forwarded-for', 'x-forwarded-proto'] as const) expect(found[key], key).toBe(req.headers[key]);
      }),
      { numRuns: 2000 },
    );
  });

  it('walks X-Forwarded-For as a split of it read from the right would', () => {
    const t = trusts(['127.0.0.1', '10.0.0.0/8']);
    // What clientOf did before it walked the header without splitting it.
    const reference = (xff: string, xfp: string | undefined) => {
      const nodes = xff.split(',');
      const protos = xfp === undefined ? [] : xfp.split(',');
      let client: { address: string | null; port: number | null; proto: string } = { address: '127.0.0.1', port: 40000, proto: 'http' };
      for (let i = nodes.length - 1; i >= Math.max(0, nodes.length - 32); i--) {
        const node = nodeAddress(nodes[i]!);
        if (node === null) break;
        const p = (protos.length === nodes.length ? protos[i] : protos.at(-1))?.trim().toLowerCase();
        const scheme = p === 'https' || p === 'wss' ? 'https' : p === 'http' || p === 'ws' ? 'http' : null;
        client = { address: node.address, port: node.port, proto: scheme ?? client.proto };
        if (!t(node.address)) break;
      }
      return client;
    };
    const hop = fc.oneof(fc.constantFrom('10.1.2.3', '127.0.0.1', '198.51.100.7', '[::1]:80', '10.0.0.1:8080', 'junk', '', ' 10.9.9.9 ', '\t198.51.100.7 ', '\u00a010.1.2.3', ' [::1] '), fc.ipV4());
    // An empty header is no header (the scheme alone is forwarded then): the cases above.
    const chain = fc.array(hop, { minLength: 1, maxLength: 40 }).map((hops) => hops.join(',')).filter((xff) => xff !== '');
    const protos = fc.option(fc.array(fc.constantFrom('http', 'https', ' HTTPS', 'wss', 'x'), { minLength: 1, maxLength: 40 }).map((p) => p.join(',')), { nil: undefined });
    fc.assert(
      fc.property(chain, protos, (xff, xfp) => {
        expect(clientOf({ 'x-forwarded-for': xff, 'x-forwarded-proto': xfp }, peer('127.0.0.1'), 'http', t)).toEqual(reference(xff, xfp));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the client', () => {
  it('is the peer when nothing is forwarded, or the peer is not trusted', () => {
    expect(clientOf({}, peer('127.0.0.1'), 'http', local)).toEqual({ address: '127.0.0.1', port: 40000, proto: 'http' });
    expect(clientOf({ 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' }, peer('203.0.113.9'), 'http', local)).toEqual({ address: '203.0.113.9', port: 40000, proto: 'http' });
    expect(clientOf({ forwarded: 'for=1.2.3.4' }, peer('::ffff:203.0.113.9'), 'https', local)).toEqual({ address: '203.0.113.9', port: 40000, proto: 'https' });
  });

  it('walks X-Forwarded-For right to left, skipping trusted hops, with the scheme of that hop', () => {
    const t = trusts(['127.0.0.1', '10.0.0.0/8']);
    const headers = { 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 10.1.1.1, 10.2.2.2', 'x-forwarded-proto': 'https, https, http, http' };
    expect(clientOf(headers, peer('127.0.0.1'), 'http', t)).toEqual({ address: '203.0.113.7', port: null, proto: 'https' });
    // A spoofed entry left of the first untrusted hop is not believed.
    expect(clientOf({ 'x-forwarded-for': '1.1.1.1, 198.51.100.1' }, peer('127.0.0.1'), 'http', local)).toMatchObject({ address: '198.51.100.1' });
    // Every hop trusted: the leftmost.
    expect(clientOf({ 'x-forwarded-for': '10.9.9.9, 10.8.8.8' }, peer('127.0.0.1'), 'http', t)).toMatchObject({ address: '10.9.9.9' });
    // A single X-Forwarded-Proto is the nearest proxy's.
    expect(clientOf({ 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'HTTPS' }, peer('::1'), 'http', local)).toEqual({ address: '198.51.100.1', port: null, proto: 'https' });
    expect(clientOf({ 'x-forwarded-proto': 'https' }, peer('127.0.0.1'), 'http', local)).toEqual({ address: '127.0.0.1', port: 40000, proto: 'https' });
  });

  it('reads IPv6 and ports in X-Forwarded-For, and stops at what is malformed', () => {
    expect(clientOf({ 'x-forwarded-for': '[2001:db8::17]:4711' }, peer('127.0.0.1'), 'http', local)).toEqual({ address: '2001:db8::17', port: 4711, proto: 'http' });
    expect(clientOf({ 'x-forwarded-for': '2001:db8::17' }, peer('127.0.0.1'), 'http', local)).toMatchObject({ address: '2001:db8::17', port: null });
    expect(clientOf({ 'x-forwarded-for': '1.2.3.4:80' }, peer('127.0.0.1'), 'http', local)).toMatchObject({ address: '1.2.3.4', port: 80 });
    for (const bad of ['garbage', '1.2.3.4:99999', '[::1', '1.2.3', '', ' , ', 'unknown']) {
      expect(clientOf({ 'x-forwarded-for': bad }, peer('127.0.0.1'), 'http', local)).toEqual({ address: '127.0.0.1', port: 40000, proto: 'http' });
    }
    // The walk stops at a malformed hop: what was read right of it stands.
    expect(clientOf({ 'x-forwarded-for': '1.2.3.4, junk, 127.0.0.1, 198.51.100.1' }, peer('127.0.0.1'), 'http', local)).toMatchObject({ address: '198.51.100.1' });
    expect(clientOf({ 'x-forwarded-for': '1.2.3.4, junk, 127.0.0.1' }, peer('127.0.0.1'), 'http', local)).toMatchObject({ address: '127.0.0.1', port: null });
  });

  it('reads RFC 7239 Forwarded before X-Forwarded-For, quoted values and all', () => {
    const headers = { forwarded: 'for=198.51.100.17;proto=https;by=203.0.113.43, for="[2001:db8:cafe::17]:4711";proto=http', 'x-forwarded-for': '9.9.9.9' };
    expect(clientOf(headers, peer('127.0.0.1'), 'http', local)).toEqual({ address: '2001:db8:cafe::17', port: 4711, proto: 'http' });
    expect(clientOf(headers, peer('127.0.0.1'), 'http', trusts(['127.0.0.1', '2001:db8::/32']))).toEqual({ address: '198.51.100.17', port: null, proto: 'https' });
    expect(clientOf({ forwarded: 'For="198.51.100.17:8080"; Proto=HTTPS' }, peer('127.0.0.1'), 'http', local)).toEqual({ address: '198.51.100.17', port: 8080, proto: 'https' });
    // Obfuscated, unknown, malformed: nothing is believed from there on.
    for (const bad of ['for=unknown', 'for=_hidden', 'for="1.2.3.4', 'for', 'for=1.2.3.4;for=5.6.7.8', 'for=1.2.3.4 extra', 'proto=https']) {
      expect(clientOf({ forwarded: bad }, peer('127.0.0.1'), 'http', local)).toEqual({ address: '127.0.0.1', port: 40000, proto: 'http' });
    }
  });

  it('never throws and always answers an address it read or the peer\'s, whatever the headers', () => {
    const text = fc.string({ maxLength: 80, unit: fc.constantFrom(...'0123456789abcdef.:[]", ;=_-forwadpoth\\ \t'.split('')) });
    fc.assert(
      fc.property(text, text, text, (forwarded, xff, proto) => {
        const client = clientOf({ forwarded: forwarded || undefined, 'x-forwarded-for': xff || undefined, 'x-forwarded-proto': proto || undefined }, peer('127.0.0.1'), 'http', local);
        expect(['http', 'https']).toContain(client.proto);
        expect(client.address === '127.0.0.1' || nodeAddress(client.address ?? '') !== null).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
