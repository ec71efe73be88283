import { describe, expect, it } from 'vitest';
import { bindCollisions, bindOverlap, formatBind, parseBind } from '../../src/config/binds.ts';

describe('parseBind', () => {
  it.each([
    ['127.0.0.1:8000', { type: 'tcp', host: '127.0.0.1', port: 8000 }],
    [':8000', { type: 'tcp', host: null, port: 8000 }],
    ['0.0.0.0:0', { type: 'tcp', host: '0.0.0.0', port: 0 }],
    ['localhost:3000', { type: 'tcp', host: 'localhost', port: 3000 }],
    ['[::1]:8080', { type: 'tcp', host: '::1', port: 8080 }],
    ['[::]:80', { type: 'tcp', host: '::', port: 80 }],
    ['unix:/run/app.sock', { type: 'unix', path: '/run/app.sock' }],
    ['unix:relative.sock', { type: 'unix', path: 'relative.sock' }],
    ['fd://3', { type: 'fd', fd: 3 }],
  ])('%s', (text, bind) => {
    expect(parseBind(text)).toEqual({ ok: true, bind });
  });

  it.each([
    ['', 'empty address'],
    ['localhost', 'missing :PORT'],
    ['8001', 'write ":8001" for every interface or "127.0.0.1:8001" for this machine only'],
    ['127.0.0.1:', 'missing port number after :'],
    ['127.0.0.1:http', 'port "http" is not a number'],
    ['127.0.0.1:70000', 'port 70000 is out of range 0-65535'],
    ['::1:8000', 'write IPv6 addresses in brackets, as in [::1]:8000'],
    ['[::1:8000', 'IPv6 address is missing its closing ]'],
    ['[127.0.0.1]:80', '127.0.0.1 is not an IPv6 address'],
    ['[::1]8000', 'missing :PORT after the IPv6 address'],
    ['http://127.0.0.1:8000', 'drop the http:// scheme; write HOST:PORT'],
    ['unix:', 'unix: needs a socket path, as in unix:/run/app.sock'],
    ['fd://x', 'fd:// needs a file descriptor number, as in fd://3'],
    ['bad_host!:80', '"bad_host!" is not a host name or IP address'],
  ])('rejects %j: %s', (text, reason) => {
    expect(parseBind(text)).toEqual({ ok: false, reason });
  });

  it('formats addresses for logs', () => {
    expect(formatBind({ type: 'tcp', host: '127.0.0.1', port: 8000 })).toBe('http://127.0.0.1:8000');
    expect(formatBind({ type: 'tcp', host: '::1', port: 8000 }, 'https')).toBe('https://[::1]:8000');
    expect(formatBind({ type: 'tcp', host: null, port: 80 })).toBe('http://0.0.0.0:80');
    expect(formatBind({ type: 'unix', path: '/a.sock' })).toBe('unix:/a.sock');
    expect(formatBind({ type: 'fd', fd: 3 })).toBe('fd://3');
  });
});

describe('bindOverlap: what counts as the same address (Linux, Node listening dual-stack on ::)', () => {
  it.each([
    ['127.0.0.1:8102', '127.0.0.1:8102', 'they are the same address'],
    ['0.0.0.0:8000', '127.0.0.1:8000', '0.0.0.0:8000 listens on every IPv4 address'],
    ['0.0.0.0:8000', '0.0.0.0:8000', 'both listen on every IPv4 address'],
    ['[::]:8000', '0.0.0.0:8000', '[::]:8000 listens on every IPv4 and IPv6 address'],
    [':8000', '[::]:8000', 'both listen on every IPv4 and IPv6 address'],
    ['127.0.0.1:8000', ':8000', ':8000 listens on every IPv4 and IPv6 address'],
    ['[::]:8000', '[::1]:8000', '[::]:8000 listens on every IPv4 and IPv6 address'],
    ['[0:0::0]:8000', 'localhost:8000', '[0:0::0]:8000 listens on every IPv4 and IPv6 address'],
    ['[::1]:8000', '[0:0:0:0:0:0:0:1]:8000', 'they are the same address'],
    ['[::ffff:127.0.0.1]:8000', '127.0.0.1:8000', 'they are the same address'],
    ['[::ffff:7f00:1]:8000', '0.0.0.0:8000', '0.0.0.0:8000 listens on every IPv4 address'],
    ['LocalHost:8000', 'localhost:8000', 'they are the same address'],
    ['unix:/run/a.sock', 'unix:/run//a.sock', 'they are the same socket file'],
    ['fd://3', 'fd://3', 'they are the same file descriptor'],
  ])('%s and %s: %s', (a, b, why) => {
    expect(bindOverlap(a, b)).toBe(why);
    expect(bindOverlap(b, a)).toBe(why);
  });

  it.each([
    ['127.0.0.1:8000', '127.0.0.2:8000'],
    ['127.0.0.1:8000', '127.0.0.1:8001'],
    ['0.0.0.0:8000', '[::1]:8000'],
    // A name may be an IPv6 address: not judged against 0.0.0.0, nor against an address (no lookup).
    ['0.0.0.0:8000', 'localhost:8000'],
    ['localhost:8000', '127.0.0.1:8000'],
    // Port 0 picks a free port for each.
    ['127.0.0.1:0', '127.0.0.1:0'],
    [':0', '0.0.0.0:0'],
    ['unix:/run/a.sock', 'unix:/run/b.sock'],
    ['fd://3', 'fd://4'],
    ['unix:/run/a.sock', '127.0.0.1:8000'],
    ['not an address', 'not an address'],
  ])('%s and %s can both listen', (a, b) => {
    expect(bindOverlap(a, b)).toBeNull();
  });

  it('bindCollisions names each pair once; an address written three times is one problem', () => {
    expect(bindCollisions(['127.0.0.1:8102', '127.0.0.1:8102', '127.0.0.1:8102'])).toEqual(['127.0.0.1:8102 is listed more than once']);
    expect(bindCollisions(['0.0.0.0:1', '127.0.0.1:1', '[::1]:1'])).toEqual(['0.0.0.0:1 and 127.0.0.1:1 cannot both listen: 0.0.0.0:1 listens on every IPv4 address']);
    expect(bindCollisions(['127.0.0.1:1', '127.0.0.1:2'])).toEqual([]);
  });
});
