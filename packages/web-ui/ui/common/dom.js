// @ts-check
/**
 * The only way the product's pages build DOM (served at <prefix>/ui/common/dom.js). Text from
 * webhooks and providers (titles, notes, labels, service names, provider incident updates…) is
 * untrusted: it goes in through `textContent` and `setAttribute` only, never through
 * `innerHTML`, and a link's `href` is set only when it passes `isAllowedHref`.
 * See docs/adr/0005-dashboard-without-a-build-step.md.
 */

/** @typedef {string | number | Node | null | undefined | false} Child */
/**
 * @typedef {object} Props
 * @property {string} [class]
 * @property {string} [text] textContent
 * @property {string | null} [href] dropped unless `isAllowedHref`
 * @property {boolean} [hidden]
 * @property {boolean} [disabled]
 * @property {Record<string, EventListener>} [on]
 * @property {Record<string, string>} [data] data-* attributes
 * @property {string | number | boolean | null | undefined | Record<string, EventListener> | Record<string, string>} [attr]
 */

/** Attributes that could run code or load content: never set from here. */
const FORBIDDEN_ATTRIBUTE = /^(on|style$|srcdoc$|src$|formaction$|action$|xlink:href$)/i;

/**
 * Creates an element. `props` keys other than the ones in {@link Props} are attributes set with
 * `setAttribute` (values are strings, so they are inert whatever they contain).
 *
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'href') {
      if (isAllowedHref(String(value))) el.setAttribute('href', String(value));
    } else if (key === 'hidden') el.hidden = Boolean(value);
    else if (key === 'disabled') el.toggleAttribute('disabled', Boolean(value));
    else if (key === 'on') {
      for (const [type, listener] of Object.entries(/** @type {Record<string, EventListener>} */ (value))) {
        el.addEventListener(type, listener);
      }
    } else if (key === 'data') {
      for (const [name, v] of Object.entries(/** @type {Record<string, string>} */ (value))) el.dataset[name] = v;
    } else {
      if (FORBIDDEN_ATTRIBUTE.test(key)) throw new Error(`h(): attribute ${key} is not allowed`);
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/**
 * @param {Node} parent
 * @param {(Child | Child[])[]} children
 */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? text(String(child)) : child);
  }
}

/** @param {string} value */
export function text(value) {
  return document.createTextNode(value);
}

/**
 * An absolute http(s) URL (what webhooks may give us), or a path inside this app, or a
 * mailto:/tel: link built from a catalogue contact. Anything else — javascript:, data:,
 * protocol-relative `//host` — is refused.
 *
 * @param {string} value
 */
export function isAllowedHref(value) {
  if (value.startsWith('/')) return !value.startsWith('//') && !value.startsWith('/\\');
  if (/^mailto:[^\s@/\\]+@[^\s@/\\]+$/i.test(value)) return true;
  if (/^tel:\+?[0-9-]+$/.test(value)) return true;
  return httpUrl(value) !== null;
}

/**
 * The URL when `value` parses as an absolute http: or https: URL, else null.
 * @param {unknown} value
 */
export function httpUrl(value) {
  if (typeof value !== 'string' || value.length > 4096) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * A link to somewhere outside (provider pages, runbooks), opened in a new tab without a referrer
 * or opener. When `href` is not an http(s) URL the text is shown without a link.
 *
 * @param {unknown} href
 * @param {string} label
 * @param {string} [className]
 */
export function externalLink(href, label, className) {
  const url = httpUrl(href);
  if (!url) return h('span', { class: className, text: label, title: 'link hidden: not an http(s) URL' });
  return h('a', { href: url, class: className, target: '_blank', rel: 'noopener noreferrer', text: label });
}

/**
 * A link inside the page's own app, followed without a page load (the app's click handler
 * follows `a[data-nav]`).
 * @param {string} path
 * @param {Record<string, unknown>} [props]
 * @param {...(Child | Child[])} children
 */
export function navLink(path, props = {}, ...children) {
  return h('a', { ...props, href: path, 'data-nav': true }, ...children);
}

/**
 * Follows the page's own links (`navLink`, `a[data-nav]`) under `prefix` without a page load: a
 * plain left click calls `navigate(path + search)`. Clicks with a modifier (a new tab or window),
 * other buttons, other origins and paths outside `prefix` are left to the browser.
 * @param {string} prefix the paths this page's app serves, e.g. `/apps/` (`/` for every path)
 * @param {(path: string) => void} navigate
 */
export function followNavLinks(prefix, navigate) {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target instanceof Element ? event.target.closest('a[data-nav]') : null;
    if (!(link instanceof HTMLAnchorElement)) return;
    const url = new URL(link.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(prefix)) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}

/**
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
export function $(selector, root = document) {
  const el = root.querySelector(selector);
  if (!(el instanceof HTMLElement)) throw new Error(`missing element ${selector}`);
  return el;
}
