/** fast-check arbitraries of PROXY protocol headers (v1 and v2, IPv4 and IPv6, LOCAL, TLVs), for the parser's property tests and the worker's intake. */
import fc from 'fast-check';
import { SocketAddress } from 'node:net';
import { proxyV1, proxyV2 } from '../../src/runtime/proxy/proxy-protocol.ts';

const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6().map((a) => {
  // The form Node gives a socket's address: what the parser must produce.
  const { address } = new SocketAddress({ address: a, family: 'ipv6' });
  return address;
});
const port = fc.integer({ min: 0, max: 65535 });
const tlv = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })).map(([type, value]) => {
  const b = Buffer.alloc(3 + value.length);
  b.writeUInt8(type, 0);
  b.writeUInt16BE(value.length, 1);
  Buffer.from(value).copy(b, 3);
  return b;
});
const endpoint = (ip: fc.Arbitrary<string>) => fc.record({ address: ip, port });

/** A valid header and the client it names (null: LOCAL). */
export const header = fc.oneof(
  fc.tuple(endpoint(ipv4), endpoint(ipv4)).map(([s, d]) => ({ bytes: proxyV1(s, d), source: s })),
  fc.tuple(endpoint(ipv6), endpoint(ipv6)).map(([s, d]) => ({ bytes: proxyV1(s, d), source: s })),
  fc.tuple(endpoint(ipv4), endpoint(ipv4), fc.array(tlv, { maxLength: 4 })).map(([s, d, t]) => ({ bytes: proxyV2(s, d, Buffer.concat(t)), source: s })),
  fc.tuple(endpoint(ipv6), endpoint(ipv6), fc.array(tlv, { maxLength: 4 })).map(([s, d, t]) => ({ bytes: proxyV2(s, d, Buffer.concat(t)), source: s })),
  fc.array(tlv, { maxLength: 3 }).map((t) => ({ bytes: proxyV2(null, null, Buffer.concat(t)), source: null })),
);

/** Any bytes, or a valid header with one byte set to any value. */
export const headerish = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((raw) => Buffer.from(raw)),
  header.chain(({ bytes }) => fc.integer({ min: 0, max: bytes.length - 1 }).chain((i) => fc.integer({ min: 0, max: 255 }).map((b) => Buffer.from(bytes).fill(b, i, i + 1)))),
);
