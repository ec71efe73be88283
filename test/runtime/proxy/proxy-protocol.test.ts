/** The PROXY protocol parser (runtime/proxy/proxy-protocol.ts): v1 and v2, cut anywhere, and whatever bytes come. */
import fc from 'fast-check';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MAX_PROXY_HEADER_BYTES, MAX_V1_BYTES, parseProxyHeader, proxyV1, proxyV2 } from '../../../src/runtime/proxy/proxy-protocol.ts';
import { header, headerish } from '../../helpers/proxy-headers.ts';

describe('the PROXY protocol parser', () => {
  it('reads every valid header whole, asks for more at every shorter cut, and leaves what follows', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), ({ bytes, source }, after) => {
        for (let cut = 0; cut < bytes.length; cut++) expect(parseProxyHeader(bytes.subarray(0, cut))).toEqual({ state: 'more' });
        const whole = parseProxyHeader(Buffer.concat([bytes, Buffer.from(after)]));
        expect(whole.state).toBe('done');
        if (whole.state !== 'done') return;
        expect(whole.length).toBe(bytes.length);
        expect(whole.header.source).toEqual(source);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on any bytes, and never claims more than it was given or than a header may be', () => {
    fc.assert(
      fc.property(headerish, (bytes) => {
        const result = parseProxyHeader(bytes);
        expect(['more', 'done', 'error']).toContain(result.state);
        if (result.state === 'done') {
          expect(result.length).toBeLessThanOrEqual(bytes.length);
          expect(result.length).toBeLessThanOrEqual(MAX_PROXY_HEADER_BYTES);
          if (result.header.source !== null) expect(isIP(result.header.source.address)).not.toBe(0);
        }
        if (result.state === 'more') expect(bytes.length).toBeLessThan(MAX_PROXY_HEADER_BYTES);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses what is not a header at the first byte that shows it', () => {
    expect(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n'))).toMatchObject({ state: 'error', reason: 'the connection did not begin with a PROXY protocol header' });
    expect(parseProxyHeader(Buffer.from('PROXZ'))).toMatchObject({ state: 'error' });
    expect(parseProxyHeader(Buffer.from([0x16, 0x03, 0x01]))).toMatchObject({ state: 'error' });
  });

  it.each([
    ['PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n', /not "PROXY TCP4\|TCP6/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 80 443 extra\r\n', /not "PROXY TCP4\|TCP6/],
    ['PROXY TCP4 ::1 ::1 80 443\r\n', /not IPv4/],
    ['PROXY TCP6 1.2.3.4 5.6.7.8 80 443\r\n', /not IPv6/],
    ['PROXY TCP6 fe80::1%eth0 ::1 80 443\r\n', /not IPv6/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 80 65536\r\n', /ports/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 080 443\r\n', /ports/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 +80 443\r\n', /ports/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 80 4a3\r\n', /ports/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 800000 443\r\n', /ports/],
    ['PROXY TCP4 1.2.3.04 5.6.7.8 80 443\r\n', /not IPv4/],
    ['PROXY TCP4 1.2.3.4 5.6.7.256 80 443\r\n', /not IPv4/],
    ['PROXY TCP4 1.2.3 5.6.7.8 80 443\r\n', /not IPv4/],
    ['PROXY TCP4  1.2.3.4 5.6.7.8 80 443\r\n', /not "PROXY/],
    ['PROXY UDP4 1.2.3.4 5.6.7.8 80 443\r\n', /protocol "UDP4"/],
    ['PROXY TCP4 1.2.3.4\n', /a byte it cannot hold/],
  ])('refuses the v1 header %j', (text, reason) => {
    const result = parseProxyHeader(Buffer.from(text, 'latin1'));
    expect(result.state).toBe('error');
    if (result.state === 'error') expect(result.reason).toMatch(reason);
  });

  it('gives a v1 IPv6 address in the canonical form v2 gives, so one client is one string', () => {
    const parsed = parseProxyHeader(Buffer.from('PROXY TCP6 0:0:0:0:0:ffff:1.2.3.4 2001:DB8::1 80 443\r\n', 'latin1'));
    expect(parsed.state === 'done' ? [parsed.header.source?.address, parsed.header.destination?.address] : parsed).toEqual(['::ffff:1.2.3.4', '2001:db8::1']);
  });

  it('refuses a v1 header with no end within 107 bytes', () => {
    expect(parseProxyHeader(Buffer.from(`PROXY UNKNOWN ${'x'.repeat(MAX_V1_BYTES)}`))).toMatchObject({ state: 'error' });
    expect(parseProxyHeader(Buffer.from(`PROXY UNKNOWN ${'x'.repeat(80)}`))).toEqual({ state: 'more' });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN whatever\r\nGET'))).toEqual({ state: 'done', header: { version: 1, source: null, destination: null }, length: 24 });
  });

  it('refuses v2 headers that are too long, of another version or command, or whose TLVs overrun', () => {
    const good = proxyV2({ address: '10.0.0.1', port: 1 }, { address: '10.0.0.2', port: 2 });
    const changed = (i: number, byte: number) => Buffer.from(good).fill(byte, i, i + 1);
    expect(parseProxyHeader(changed(12, 0x31))).toMatchObject({ state: 'error', reason: 'a PROXY v2 header of another version' });
    expect(parseProxyHeader(changed(12, 0x22))).toMatchObject({ state: 'error' });
    expect(parseProxyHeader(changed(13, 0x12))).toMatchObject({ state: 'error', reason: /datagram/ });
    const long = Buffer.from(good);
    long.writeUInt16BE(60_000, 14);
    expect(parseProxyHeader(long)).toMatchObject({ state: 'error', reason: /at most/ });
    const overrun = proxyV2({ address: '10.0.0.1', port: 1 }, { address: '10.0.0.2', port: 2 }, Buffer.from([0x04, 0x00, 0x09, 1, 2]));
    expect(parseProxyHeader(overrun)).toMatchObject({ state: 'error', reason: /TLV longer/ });
    const short = Buffer.from(good);
    short.writeUInt16BE(4, 14);
    expect(parseProxyHeader(short)).toMatchObject({ state: 'error', reason: /too short/ });
  });

  it('keeps the peer for v2 LOCAL, and reads IPv4-mapped IPv6 as Node shows it', () => {
    expect(parseProxyHeader(proxyV2(null, null))).toEqual({ state: 'done', header: { version: 2, source: null, destination: null }, length: 16 });
    const mapped = parseProxyHeader(proxyV2({ address: '::ffff:10.1.2.3', port: 5 }, { address: '::1', port: 6 }));
    expect(mapped).toMatchObject({ state: 'done', header: { source: { address: '::ffff:10.1.2.3', port: 5 } } });
  });

  it('reads the SSL TLV: a client that reached the balancer over TLS', () => {
    const ssl = (client: number) => Buffer.from([0x20, 0x00, 0x05, client, 0, 0, 0, 0]);
    const from = { address: '198.51.100.1', port: 5000 };
    const to = { address: '10.0.0.2', port: 443 };
    expect(parseProxyHeader(proxyV2(from, to, ssl(0x01)))).toMatchObject({ state: 'done', header: { source: from, tls: true } });
    const plain = parseProxyHeader(proxyV2(from, to, ssl(0x00)));
    expect(plain.state === 'done' && plain.header.tls).toBeFalsy();
  });
});
