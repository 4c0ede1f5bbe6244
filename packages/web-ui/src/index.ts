import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, Router } from 'express';

/*
 * The product's one look in the browser (docs/adr/0012-one-product-behind-one-host.md): every
 * service that has pages serves this package's files under its own prefix and sends its pages
 * with the one Content-Security-Policy below. The files are plain ES modules and CSS, served as
 * they are (no build step, ADR 0005).
 */

/** The shared browser files: base.css, favicon.svg, shell.js, dom.js, api.js, types.js. */
export const WEB_UI_DIR = fileURLToPath(new URL('../ui/common', import.meta.url));

/**
 * The Content-Security-Policy of every page of the product. Everything a page loads comes from
 * the product's own host (no CDN, no external fonts); scripts only from there, and no inline
 * script or style, so text from a webhook or a provider can never run.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** A service's path prefix behind the product's host: '' (escalation) or '/status'-like. */
const PREFIX = /^(?:\/[a-z0-9][a-z0-9-]*)*$/;

/** Browser files are cached briefly (modules are not fingerprinted, ADR 0005); pages never. */
const STATIC_MAX_AGE = '5m';

/**
 * Serves the shared files at `<prefix>/ui/common/` (`serveWebUi('')` → `/ui/common/base.css`,
 * `serveWebUi('/status')` → `/status/ui/common/base.css`), so a page's modules import them as
 * `./common/shell.js` from `<prefix>/ui/`. Mount it before any authentication: they are public.
 */
export function serveWebUi(prefix: string): Router {
  if (!PREFIX.test(prefix)) {
    throw new Error(`serveWebUi: prefix ${JSON.stringify(prefix)} must be '' or like '/status' (no trailing slash)`);
  }
  const router = Router();
  router.use(`${prefix}/ui/common`, express.static(WEB_UI_DIR, { index: false, maxAge: STATIC_MAX_AGE }));
  return router;
}

/**
 * Serves a service's own browser files (its `ui/` folder) at `<prefix>/ui/`, cached like the
 * shared ones. Test files and configuration there are not sent.
 */
export function serveUiFolder(prefix: string, dir: string): Router {
  if (!PREFIX.test(prefix)) throw new Error(`serveUiFolder: prefix ${JSON.stringify(prefix)} is not a path prefix`);
  const router = Router();
  const files = express.static(dir, { index: false, maxAge: STATIC_MAX_AGE });
  router.use(`${prefix}/ui`, (req, res, next) => {
    if (!/\.(?:js|css|svg)$/.test(req.path) || /\.test\.[a-z]+$/.test(req.path)) {
      next();
      return;
    }
    files(req, res, next);
  });
  return router;
}

/** A handler that sends `file` of `dir` as a page: the product's CSP, never cached. */
export function sendPage(dir: string, file = 'index.html'): RequestHandler {
  return (_req, res) => {
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(file, { root: dir });
  };
}
