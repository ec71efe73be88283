import { Hono } from 'hono';
import { streamText } from 'hono/streaming';

/** A Hono app has fetch(request): hostd serves web-standard apps as they are. */
const app = new Hono();

app.get('/', (c) => c.json({ framework: 'hono', pid: process.pid }));

app.post('/echo', async (c) => c.json({ received: await c.req.json<unknown>() }));

app.get('/stream', (c) =>
  streamText(c, async (stream) => {
    for (const word of ['one', 'two', 'three']) await stream.writeln(word);
  }),
);

export default app;
