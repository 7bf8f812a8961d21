// Rewards: every account's balance, and per epoch (closed as settled, the open one as a preview) what each
// recipient accrued, was paid, and what was withheld under which rule; an admin may settle an epoch.
import { get, post } from '../api.js';
import { el, table, loading, showError, busy, can, card, badge } from '../ui.js';

export async function render(root, session) {
  root.append(el('h1', {}, 'Rewards'));
  const policy = el('div'), epochs = el('div', { id: 'epochs' }), balances = el('div', { id: 'balances' });
  root.append(card('Fee policy', policy), card('Epochs', epochs), card('Balances', balances));
  await Promise.all([showPolicy(policy), showEpochs(epochs, session), showBalances(balances)]);
}

async function showPolicy(node) {
  loading(node);
  try {
    const p = await get('/v1/rewards/policy');
    node.replaceChildren(el('p', {}, `Version ${p.version}`), el('pre', { class: 'yaml' }, JSON.stringify(p, null, 2)));
  } catch (e) { showError(node, e); }
}

async function showEpochs(node, session) {
  loading(node);
  try {
    const { data } = await get('/v1/rewards/epochs');
    node.replaceChildren(...(data.length ? data.map(ep => {
      const status = el('div');
      const settle = el('button', { type: 'button', class: 'secondary' }, `Settle epoch ${ep.epoch}`);
      settle.addEventListener('click', async () => {
        if (await busy(settle, status, () => post(`/v1/rewards/epochs/${ep.epoch}/settle`, {})))
          await showEpochs(node, session);
      });
      return el('section', {}, el('h3', {}, `Epoch ${ep.epoch} `, badge(ep.state.split(' ')[0])),
        ep.state.includes(' ') ? el('p', { class: 'muted' }, ep.state.slice(ep.state.indexOf(' ') + 1)) : null,
        el('p', { class: 'muted' }, `${ep.inferences} inferences · fees ${ep.fees} · withheld ${ep.withheld} · ` +
          `policy v${ep.policy}`),
        table([{ title: 'Recipient', key: 'account' }, { title: 'Accrued', key: 'accrued', num: true },
          { title: 'Paid', key: 'paid', num: true },
          { title: 'Withheld (rule: amount)', render: r => Object.entries(r.withheld).map(([rule, v]) =>
            `${rule}: ${v}`).join(', ') }], ep.recipients, 'No recipients.'),
        ep.state.startsWith('open') && can(session, 'admin') ? settle : null, status);
    }) : [el('p', { class: 'muted' }, 'No epochs yet.')]));
  } catch (e) { showError(node, e); }
}

async function showBalances(node) {
  loading(node);
  try {
    const { accounts } = await get('/v1/rewards/balances');
    node.replaceChildren(table([{ title: 'Account', key: 'id' }, { title: 'Debits', key: 'debits_posted', num: true },
      { title: 'Credits', key: 'credits_posted', num: true }, { title: 'Balance', key: 'balance', num: true }],
    accounts));
  } catch (e) { showError(node, e); }
}
