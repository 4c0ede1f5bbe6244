// @ts-check

import { request } from './client.js';
import { authorizedFetch } from './common/api.js';
import { h, navLink } from './common/dom.js';
import { rolesOf } from './model.js';

/**
 * @typedef {{ team: string | null, currency: string, cost: string, untagged: string, apps: number }} TeamCost
 * @typedef {{ currency: string, total: string, untagged: string }} Total
 * @typedef {{ month: string, teams: TeamCost[], totals: Total[] }} Chargeback
 * @typedef {{ key: string | null, name?: string | null, team?: string | null, untagged?: boolean, currency: string, cost: string }} AppCost
 * @typedef {{ id: string, scope: string, subject: string, monthlyAmount: string, currency: string, used: string, percent: number | null, alerts: { at80: string | null, at100: string | null } }} Quota
 * @typedef {{ id: string, quotaId: string, amount: string, justification: string, status: string, requestedBy: { subject: string, name: string | null }, requestedAt: string }} QuotaRequest
 * @typedef {{ id: string, appId: string, name: string | null, team: string | null, day: string, currency: string, cost: string, median: string, score: number | null }} Anomaly
 * @typedef {{ id: string, at: string, by: { subject: string, name: string | null }, format: string, fileName: string | null, rows: number, currency: string, total: string, untagged: string, firstDay: string, lastDay: string }} CostImport
 */

/** An amount as people read it: two decimals, thousands grouped. @param {string} amount @param {string} currency */
export function money(amount, currency) {
  const n = Number(amount);
  return `${n.toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
}

/**
 * The month the page opens on: the one the latest import ends in (what there is to see), else the
 * current one. YYYY-MM.
 * @param {{ lastDay: string }[]} imports newest first @param {Date} now
 */
export function defaultMonth(imports, now) {
  return imports[0]?.lastDay.slice(0, 7) ?? now.toISOString().slice(0, 7);
}

/** @param {string} caption @param {string[]} head @param {(Node | string)[][]} rows */
function table(caption, head, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'cost-table' },
      h('caption', { text: caption }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((c) => h('th', { scope: 'col', text: c })),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}

/**
 * The Cost page: a month's chargeback per team (with its CSV), the untagged cost, the apps that
 * cost most, quotas with their use, increase requests and the anomalies found.
 * @param {HTMLElement} view
 * @param {{ me: { subject: string, roles: string[] }, search: string, navigate: (path: string) => void }} ctx
 */
export async function renderCost(view, ctx) {
  document.title = 'Cost · Apps · micro-oncall';
  const roles = rolesOf(ctx.me.roles);
  const { body: imports } = /** @type {{ body: { items: CostImport[] } }} */ (
    await request('GET', '/apps/v1/cost/imports')
  );
  const month = new URLSearchParams(ctx.search).get('month') ?? defaultMonth(imports.items, new Date());
  const q = encodeURIComponent(month);
  const [{ body: chargeback }, { body: costs }, { body: quotas }, { body: requests }, { body: anomalies }] =
    await Promise.all([
      request('GET', `/apps/v1/cost/chargeback?month=${q}`).then((r) => /** @type {{ body: Chargeback }} */ (r)),
      request('GET', `/apps/v1/cost/costs?month=${q}&by=app`).then(
        (r) => /** @type {{ body: { items: AppCost[] } }} */ (r),
      ),
      request('GET', `/apps/v1/cost/quotas?month=${q}`).then((r) => /** @type {{ body: { items: Quota[] } }} */ (r)),
      request('GET', '/apps/v1/cost/quota-requests?status=pending').then(
        (r) => /** @type {{ body: { items: QuotaRequest[] } }} */ (r),
      ),
      request('GET', `/apps/v1/cost/anomalies?month=${q}`).then(
        (r) => /** @type {{ body: { items: Anomaly[] } }} */ (r),
      ),
    ]);

  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const monthInput = h('input', { type: 'month', id: 'cost-month', value: month, required: true });
  const picker = h(
    'form',
    { class: 'filters', 'aria-label': 'Month' },
    h('label', { for: 'cost-month', text: 'Month' }),
    monthInput,
    h('button', { type: 'submit', class: 'secondary', text: 'Show' }),
  );
  picker.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.navigate(`/apps/cost?month=${encodeURIComponent(/** @type {HTMLInputElement} */ (monthInput).value)}`);
  });

  const download = h('button', { type: 'button', class: 'secondary', text: 'Download CSV' });
  download.addEventListener('click', async () => {
    const res = await authorizedFetch(`/apps/v1/cost/chargeback?month=${q}&format=csv`, {
      headers: { accept: 'text/csv' },
    });
    if (!res.ok) {
      status.textContent = `The CSV could not be made: the server answered ${res.status}`;
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const link = h('a', { download: `chargeback-${month}.csv` });
    // Our own object URL: h() lets only http(s) and relative links through, so it is set here.
    link.setAttribute('href', url);
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });

  const totals = chargeback.totals.length
    ? chargeback.totals.map((t) =>
        h(
          'p',
          { class: 'cost-total' },
          h('strong', { text: `Total ${money(t.total, t.currency)}` }),
          ` — untagged (no app claims it): ${money(t.untagged, t.currency)}`,
        ),
      )
    : [h('p', { class: 'muted', text: `No cost imported for ${month}.` })];

  const chargebackCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'chargeback-title' },
    h('div', { class: 'page-head' }, h('h2', { id: 'chargeback-title', text: `Chargeback ${month}` }), download),
    ...totals,
    chargeback.teams.length
      ? table(
          'Cost per team (team tag for cost no app claims)',
          ['Team', 'Cost', 'of it untagged', 'Apps'],
          chargeback.teams.map((t) => [
            t.team ?? h('em', { text: 'no team' }),
            money(t.cost, t.currency),
            money(t.untagged, t.currency),
            String(t.apps),
          ]),
        )
      : '',
  );

  const top = costs.items.slice(0, 20);
  const appsCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'apps-cost-title' },
    h('h2', { id: 'apps-cost-title', text: 'What cost most' }),
    top.length
      ? table(
          `The ${top.length} biggest costs of ${month}`,
          ['App', 'Team', 'Cost'],
          top.map((c) => [
            c.key ? navLink(`/apps/${c.key}`, { text: c.name ?? c.key }) : h('strong', { text: 'Untagged cost' }),
            c.team ?? '—',
            money(c.cost, c.currency),
          ]),
        )
      : h('p', { class: 'muted', text: 'Nothing yet.' }),
  );

  const quotasCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'quotas-title' },
    h('h2', { id: 'quotas-title', text: 'Quotas' }),
    quotas.items.length === 0
      ? h('p', { class: 'muted', text: 'No quotas set.' })
      : table(
          `Use in ${month}; alerts at 80 % and 100 %`,
          ['Scope', 'Used', 'Quota', ''],
          quotas.items.map((quota) => [
            `${quota.scope} ${quota.subject}`,
            h(
              'span',
              {},
              h('meter', {
                min: '0',
                max: '100',
                low: '80',
                high: '99.99',
                optimum: '0',
                value: String(Math.min(quota.percent ?? 0, 100)),
                'aria-label': `${quota.percent ?? 0} % used`,
              }),
              ` ${money(quota.used, quota.currency)} (${quota.percent ?? 0} %)`,
            ),
            money(quota.monthlyAmount, quota.currency),
            roles.responder ? increaseForm(quota, status, () => ctx.navigate(`/apps/cost?month=${q}`)) : '',
          ]),
        ),
    requests.items.length
      ? h(
          'div',
          {},
          h('h3', { text: `Increase requests waiting (${requests.items.length})` }),
          h(
            'ul',
            { class: 'due' },
            requests.items.map((r) => {
              const quota = quotas.items.find((x) => x.id === r.quotaId);
              const mine = r.requestedBy.subject === ctx.me.subject;
              return h(
                'li',
                {},
                `${quota ? `${quota.scope} ${quota.subject}` : 'a quota'} → ${money(r.amount, quota?.currency ?? '')}, by ${r.requestedBy.name ?? r.requestedBy.subject}: “${r.justification}” `,
                roles.approver && !mine
                  ? decisionButtons(r, status, () => ctx.navigate(`/apps/cost?month=${q}`))
                  : h('span', { class: 'muted', text: mine ? '(yours: another approver decides)' : '' }),
              );
            }),
          ),
        )
      : '',
  );

  const anomaliesCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'anomalies-title' },
    h('h2', { id: 'anomalies-title', text: 'Anomalies' }),
    h('p', {
      class: 'muted',
      text: 'A day an app cost far more than usual: over 3.5 robust standard deviations (median and MAD of the 28 days before) and by more than the floor.',
    }),
    anomalies.items.length
      ? table(
          `Unusual days in ${month}`,
          ['Day', 'App', 'Cost', 'Usual (median)'],
          anomalies.items.map((a) => [
            a.day,
            navLink(`/apps/${a.appId}`, { text: a.name ?? a.appId }),
            money(a.cost, a.currency),
            money(a.median, a.currency),
          ]),
        )
      : h('p', { class: 'muted', text: 'None this month.' }),
  );

  const importsCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'imports-title' },
    h('h2', { id: 'imports-title', text: 'Imports' }),
    imports.items.length
      ? table(
          'The latest cost files (POST /apps/v1/cost/imports, FOCUS, AWS CUR or CUR 2.0 CSV)',
          ['When', 'By', 'File', 'Days', 'Lines', 'Total', 'Untagged'],
          imports.items
            .slice(0, 10)
            .map((i) => [
              new Date(i.at).toLocaleString(),
              i.by.name ?? i.by.subject,
              `${i.fileName ?? '—'} (${i.format})`,
              `${i.firstDay} … ${i.lastDay}`,
              String(i.rows),
              money(i.total, i.currency),
              money(i.untagged, i.currency),
            ]),
        )
      : h('p', { class: 'muted', text: 'No cost file imported yet.' }),
  );

  view.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'page-title', text: 'Cost' }),
      navLink('/apps/', { text: 'All apps' }),
    ),
    picker,
    status,
    chargebackCard,
    quotasCard,
    anomaliesCard,
    appsCard,
    importsCard,
  );
}

/** @param {Quota} quota @param {HTMLElement} status @param {() => void} done */
function increaseForm(quota, status, done) {
  const amount = h('input', {
    type: 'text',
    inputmode: 'decimal',
    required: true,
    'aria-label': 'New monthly amount',
    size: '8',
  });
  const why = h('input', {
    type: 'text',
    required: true,
    minlength: '10',
    'aria-label': 'Justification',
    placeholder: 'Why',
  });
  const form = h(
    'form',
    { class: 'inline-form' },
    amount,
    why,
    h('button', { type: 'submit', class: 'secondary', text: 'Ask for more' }),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await request('POST', `/apps/v1/cost/quotas/${quota.id}/requests`, {
        body: {
          amount: /** @type {HTMLInputElement} */ (amount).value.trim(),
          justification: /** @type {HTMLInputElement} */ (why).value.trim(),
        },
      });
      // The page again: the request is listed as waiting, for another approver to decide.
      done();
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : String(error);
    }
  });
  return form;
}

/** @param {QuotaRequest} r @param {HTMLElement} status @param {() => void} done */
function decisionButtons(r, status, done) {
  /** @param {'approve' | 'reject'} decision */
  const button = (decision) => {
    const b = h('button', { type: 'button', class: 'secondary', text: decision === 'approve' ? 'Approve' : 'Reject' });
    b.addEventListener('click', async () => {
      try {
        await request('POST', `/apps/v1/cost/quota-requests/${r.id}/${decision}`, { body: {} });
        // The page again: the request is gone from those waiting; approved, the quota shows its new amount.
        done();
      } catch (error) {
        status.textContent = error instanceof Error ? error.message : String(error);
      }
    });
    return b;
  };
  return h('span', {}, button('approve'), ' ', button('reject'));
}
