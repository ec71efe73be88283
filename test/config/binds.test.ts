import { describe, expect, it } from 'vitest';
import { formatBind, parseBind } from '../../src/config/binds.ts';

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
