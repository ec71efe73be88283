/** A WebSocket client for tests (the `ws` package: Node 20 has no global WebSocket). */
import WebSocket from 'ws';
import { waitUntil } from './run.ts';

export interface WsClient {
  readonly socket: WebSocket;
  /** Every message received, as text, in order. */
  readonly messages: string[];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** Connects to `url` (http:// or ws://) and waits for the server's first message, its greeting. */
export async function connectWs(url: string): Promise<WsClient> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'));
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(String(data)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  await waitUntil(() => messages.length > 0, 'the greeting');
  return { socket, messages, closed };
}
