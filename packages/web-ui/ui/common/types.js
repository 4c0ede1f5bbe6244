// @ts-check
/**
 * Shapes the shared modules use. Types only: this module exports nothing at run time.
 */

/**
 * Who is signed in: what escalation's `GET /auth/me` answers (the product's one sign-in).
 * @typedef {object} Me
 * @property {string} subject
 * @property {string | null} name
 * @property {string | null} email
 * @property {string[]} roles
 * @property {string} csrfToken sent back in X-CSRF-Token
 */

/**
 * A section of the product: a service's pages, reached from the navigation of every page.
 * @typedef {object} Section
 * @property {string} id
 * @property {string} label
 * @property {string} href where the section starts
 */

export {};
