import Koa from 'koa';

const app = new Koa();

app.use(async (ctx) => {
  ctx.body = { framework: 'koa', path: ctx.path, pid: process.pid };
});

/** Koa's callback() is a Node request listener. */
export default app.callback();
