// Chat: the base model or a served adapter, the answer streamed, and beside it the attribution of that call: the
// fee and how it split (GET /v1/inferences/{id}/attribution), the training contributors and RAG documents credited
// with their shares (the call's attribution ledger entry).
import { get, streamChat } from '../api.js';
import { el, field, select, table, showError, busy, card, short } from '../ui.js';

export async function render(root, session) {
  root.append(el('h1', {}, 'Chat'));
  let served;
  try { served = await get('/v1/adapters'); } catch (e) { showError(root, e); return; }
  const models = [served.base.name, ...served.adapters.map(a => a.model)];
  const model = select('model', models, models[models.length - 1]);
  const system = el('input', { name: 'system', placeholder: 'optional' });
  const tokens = el('input', { type: 'number', name: 'max_tokens', value: '32', min: '1' });
  const message = el('textarea', { name: 'message', required: true, placeholder: 'Ask something…' });
  const log = el('div', { class: 'chat-log', 'aria-live': 'polite', id: 'chat-log' });
  const status = el('div'), button = el('button', { type: 'submit' }, 'Send');
  const panel = el('div', { id: 'attribution' }, el('p', { class: 'muted' }, 'Send a message to see who is credited.'));
  const history = [];
  const form = el('form', { 'aria-label': 'Chat' }, el('div', { class: 'row' }, field('Model', model),
    field('System prompt', system), field('Max tokens', tokens)), field('Message', message),
  el('div', { class: 'actions' }, button, el('button', { type: 'button', class: 'secondary', onclick: () => {
    history.length = 0; log.replaceChildren();
  } }, 'New conversation')), status);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const text = message.value.trim();
    if (!text) return;
    history.push({ role: 'user', content: text });
    log.append(el('div', { class: 'msg user' }, text));
    const answer = el('div', { class: 'msg assistant' });
    log.append(answer);
    message.value = '';
    const messages = system.value ? [{ role: 'system', content: system.value }, ...history] : [...history];
    const id = await busy(button, status, () => streamChat({ model: model.value, messages,
      max_tokens: Number(tokens.value) }, delta => { answer.textContent += delta; log.scrollTop = log.scrollHeight; }));
    history.push({ role: 'assistant', content: answer.textContent });
    if (id) await attribution(panel, id);
  });
  root.append(el('div', { class: 'cols2' }, card(null, log, form), card('Attribution', panel)));
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

// The bill is written just after the stream ends (group commit); an adapter's attribution is computed after that in
// the server's background queue, so the panel shows the fee at once and polls until the attribution has landed.
async function attribution(panel, completionId) {
  panel.replaceChildren(el('p', { class: 'muted loading', role: 'status' }, 'Reading the bill and its attribution'));
  const inference = completionId.replace(/^(chatcmpl|cmpl)-/, '');
  try {
    // The bill is read once its inference entry is in the ledger (read first: the bill's route answers 404 before,
    // which a browser logs as a console error).
    let billed = null;
    for (let i = 0; i < 40 && !billed; i++) {
      billed = await entryOf('inference', inference);
      if (!billed) await sleep(250);
    }
    if (!billed) throw new Error(`inference ${inference} was not billed`);
    let bill = await get(`/v1/inferences/${inference}/attribution`);
    panel.replaceChildren(panelView(bill));
    for (let i = 0; i < 600 && bill.status === 'pending'; i++) {
      await sleep(500);
      bill = await get(`/v1/inferences/${inference}/attribution`);
    }
    panel.replaceChildren(panelView(bill));
  } catch (e) { showError(panel, e); }
}

async function entryOf(type, inference) {
  const head = await get('/v1/ledger');
  const from = Math.max(0, head.tree_size - 200);
  const { data } = await get(`/v1/ledger/entries?from=${from}&limit=200`);
  return data.reverse().find(e => e.event.type === type && e.event.payload.inference === inference) ?? null;
}

function shares(scores) {
  const rows = Object.entries(scores).map(([name, share]) => ({ name, share })).sort((a, b) => b.share - a.share);
  return table([{ title: 'Credited', key: 'name' }, { title: 'Share', render: r => el('span', { class: 'share' },
    el('span', { class: 'bar', style: `width:${Math.round(r.share * 120)}px` }), `${(r.share * 100).toFixed(1)} %`) }],
  rows, 'Nothing had a positive influence on this answer.');
}

function panelView(bill) {
  const event = bill.event, credit = bill.attribution, payload = credit?.event;
  const pending = bill.status === 'pending';
  return el('div', { 'data-status': bill.status },
    el('p', {}, `Fee `, el('strong', { id: 'fee' }, event.fee), ` units for ${event.tokens.prompt} prompt + `,
      `${event.tokens.completion} completion tokens (policy v${event.policy}, epoch ${event.epoch})`),
    el('h3', {}, 'Training data (contributors)'),
    payload ? shares(payload.scores) : el('p', { class: pending ? 'muted loading' : 'muted', role: 'status' },
      pending ? 'Attribution is being computed (in the background, after the answer).' : 'No attribution for this call.'),
    payload?.documents?.length ? [el('h3', {}, 'Documents (RAG)'), table([{ title: 'Document', key: 'document' },
      { title: 'Owner', key: 'owner' }, { title: 'Share', render: d => `${(d.share * 100).toFixed(1)} %` }],
    payload.documents)] : null,
    el('h3', {}, 'Fee split'),
    table([{ title: 'Role', key: 'role' }, { title: 'Account', key: 'account' }, { title: 'Source', key: 'source' },
      { title: 'Amount', key: 'amount', num: true }], bill.accruals ?? [],
    pending ? 'The fee splits when the attribution lands.' : 'Nothing accrued.'),
    payload ? el('p', { class: 'muted' }, `Method ${payload.method} · index root `,
      el('span', { class: 'mono' }, short(payload.index_root)), ' · ',
      el('a', { href: `#/ledger?hash=${credit.leaf_hash}` }, `ledger entry #${credit.entry}`)) : null);
}
