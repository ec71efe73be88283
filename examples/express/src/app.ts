import express from 'express';

/** An Express app is a request listener: export it as it is. */
const app = express();
app.use(express.json());

app.get('/', (_req, res) => {
  res.json({ framework: 'express', pid: process.pid });
});

app.post('/echo', (req, res) => {
  res.json({ received: req.body as unknown });
});

export default app;
