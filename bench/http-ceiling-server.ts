/**
 * HTTP ceiling for `npm run bench`: the least a webhook endpoint must do, on bare node:http in
 * its own process. It reads the body, verifies the PagerDuty signature with the function webhook-ingest
 * uses, decodes and parses the JSON as webhook-ingest does, and answers 202. No
 * Express, no schema, no database, no Kafka: what webhook-ingest reaches is compared with this.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { verifyPagerDutySignature } from '@micro-oncall/incident-model/signatures';

const secrets = readFileSync(process.env.PAGERDUTY_WEBHOOK_SECRETS_FILE ?? '', 'utf8')
  .split(/[,\n]/)
  .map((s) => s.trim())
  .filter(Boolean);
const port = Number(process.env.PORT ?? 0);
const limit = 256 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health/ready') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > limit) {
      res.writeHead(413).end();
      return;
    }
    const raw = Buffer.concat(chunks, size);
    const signature = req.headers['x-pagerduty-signature'];
    if (!verifyPagerDutySignature(raw, typeof signature === 'string' ? signature : undefined, secrets)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthenticated"}');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(utf8.decode(raw));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_input"}');
      return;
    }
    if (typeof body !== 'object' || body === null) {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
  });
});
server.keepAliveTimeout = 5000;
server.listen(port, '127.0.0.1');

const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
