import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';

/**
 * Sends a rendered representation with a weak ETag of its bytes, for clients that poll (If-None-Match
 * → 304, no body). `private, no-cache`: every use is revalidated, and no shared cache keeps an answer
 * that needs a credential (the Atom feed's URL may even carry one).
 */
export function sendWithEtag(req: Request, res: Response, body: string, contentType: string): void {
  const etag = `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  const match = req.get('if-none-match');
  if (match?.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    res.status(304).end();
    return;
  }
  res.status(200).type(contentType).send(body);
}
