import request from 'supertest';
import { it } from 'vitest';
import { createHttpApp } from './http.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
it('x', async () => {
  const app = createHttpApp({ logger: createLogger({ service: 't', level: 'silent' }), registry: createMetricsRegistry('t'), components: () => [] }, (a) => {
    a.get('/items/:id', (req, res) => { res.json({ id: req.params.id }); });
    a.get('/partial', async (_req, res) => { res.writeHead(200, {'content-type': 'text/plain'}); res.write('partial'); throw new Error('boom'); });
  });
  const r = await request(app).get('/items/%E0%A4%A');
  console.log(r.status, r.body);
  const t0 = Date.now();
  const r2 = await request(app).get('/partial').timeout(3000).catch((e) => e);
  console.log(Date.now() - t0, r2.status ?? r2.code ?? r2.message);
});
