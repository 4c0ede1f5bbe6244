// @ts-check
/**
 * The product's one DOM builder (packages/web-ui, served at /ui/common/dom.js): `h()` puts
 * untrusted text in through `textContent` and `setAttribute` only, and refuses links and
 * attributes that could run or load code. See docs/adr/0005-dashboard-without-a-build-step.md.
 */
export * from './common/dom.js';
