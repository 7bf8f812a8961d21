// Chat: the base model or a served adapter, the answer streamed, or (with a documents datanet picked) answered from
// the documents BM25 retrieves (POST /v1/gui/rag). Beside it the attribution of that call: the fee and how it split
// (GET /v1/inferences/{id}/attribution), the training contributors credited (the call's attribution entry), the
// retrieved documents with their retrieval scores and ablation shares, and the spans of the answer found verbatim in
// the adapter's training snapshot (POST /v1/gui/spans).
import { get, post, streamChat, streamRag } from '../api.js';
import { el, field, select, table, showError, busy, card, short } from '../ui.js';

export async function render(root, session) {
  root.append(el('h1', {}, 'Chat'));
  let served, datanets;
  try {
    served = await get('/v1/adapters');
    datanets = (await get('/v1/datanets')).data ?? [];
  } catch (e) { showError(root, e); return; }
  const models = [served.base.name, ...served.adapters.map(a => a.model)];
  const documentNets = datanets.filter(d => d.format === 'documents').map(d => d.name);
  const model = select('model', models, models[models.length - 1]);
  const rag = select('rag', [['', 'none (chat)'], ...documentNets], '');
  const k = el('input', { type: 'number', name: 'k', value: '4', min: '1', max: '8' });
  const system = el('input', { name: 'system', placeholder: 'optional' });
  const tokens = el('input', { type: 'number', name: 'max_tokens', value: '32', min: '1' });
  const minSpan = el('input', { type: 'number', name: 'min_tokens', value: '4', min: '1' });
  const message = el('textarea', { name: 'message', required: true, placeholder: 'Ask something…' });
  const log = el('div', { class: 'chat-log', 'aria-live': 'polite', id: 'chat-log' });
  const status = el('div'), button = el('button', { type: 'submit' }, 'Send');
  const panel = el('div', { id: 'attribution' }, el('p', { class: 'muted' }, 'Send a message to see who is credited.'));
  const history = [];
  const ragOnly = field('Documents retrieved', k, 'k ≤ 8');
  ragOnly.hidden = true;
  const systemField = field('System prompt', system);
  rag.addEventListener('change', () => { ragOnly.hidden = !rag.value; systemField.hidden = !!rag.value; });
  const form = el('form', { 'aria-label': 'Chat' }, el('div', { class: 'row' }, field('Model', model),
    field('Documents (RAG)', rag, documentNets.length ? null : 'no documents datanet yet'), ragOnly, systemField,
    field('Max tokens', tokens), field('Min span tokens', minSpan)), field('Message', message),
  el('div', { class: 'actions' }, button, el('button', { type: 'button', class: 'secondary', onclick: () => {
    history.length = 0; log.replaceChildren();
  } }, 'New conversation')), status);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const text = message.value.trim();
    if (!text) return;
    log.append(el('div', { class: 'msg user' }, text));
    const answer = el('div', { class: 'msg assistant' });
    log.append(answer);
    message.value = '';
    const call = { model: model.value, max_tokens: Number(tokens.value), minSpan: Number(minSpan.value) };
    if (rag.value) {
      // RAG answers each question on its own, from the documents retrieved for it (no conversation history).
      answer.classList.add('loading');
      const result = await busy(button, status, () => streamRag({ model: call.model, datanet: rag.value,
        question: text, k: Number(k.value), max_tokens: call.max_tokens },
      delta => { answer.classList.remove('loading'); answer.textContent += delta; log.scrollTop = log.scrollHeight; }));
      answer.classList.remove('loading');
      if (!result) { answer.remove(); return; }
      answer.textContent = result.answer.trim();
      if (!answer.textContent)
        answer.append(el('span', { class: 'muted' }, '(no text: only whitespace or special tokens)'));
      await attribution(panel, { ...call, id: result.id, answer: result.answer, rag: result });
      return;
    }
    history.push({ role: 'user', content: text });
    const messages = system.value ? [{ role: 'system', content: system.value }, ...history] : [...history];
    const id = await busy(button, status, () => streamChat({ model: call.model, messages, max_tokens: call.max_tokens },
      delta => { answer.textContent += delta; log.scrollTop = log.scrollHeight; }));
    history.push({ role: 'assistant', content: answer.textContent });
    if (id) await attribution(panel, { ...call, id, answer: answer.textContent, rag: null });
  });
  root.append(el('div', { class: 'cols2' }, card(null, log, form), card('Attribution', panel)));
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

// The bill is written just after the answer (group commit); an adapter's training attribution is computed after that
// in the server's background queue, so the panel shows the fee, documents and spans at once and polls until the
// attribution has landed.
async function attribution(panel, call) {
  panel.replaceChildren(el('p', { class: 'muted loading', role: 'status' }, 'Reading the bill and its attribution'));
  const inference = call.id.replace(/^(chatcmpl|cmpl)-/, '');
  try {
    // The bill is read once its inference entry is in the ledger (read first: the bill's route answers 404 before,
    // which a browser logs as a console error).
    let billed = null;
    for (let i = 0; i < 40 && !billed; i++) {
      billed = await entryOf('inference', inference);
      if (!billed) await sleep(250);
    }
    if (!billed) throw new Error(`inference ${inference} was not billed`);
    const spans = call.answer.trim()
      ? await post('/v1/gui/spans', { model: call.model, text: call.answer, min_tokens: call.minSpan })
      : { reason: 'The answer is empty.' };
    let bill = await get(`/v1/inferences/${inference}/attribution`);
    panel.replaceChildren(panelView(bill, call, spans));
    for (let i = 0; i < 600 && bill.status === 'pending'; i++) {
      await sleep(500);
      bill = await get(`/v1/inferences/${inference}/attribution`);
    }
    panel.replaceChildren(panelView(bill, call, spans));
  } catch (e) { showError(panel, e); }
}

async function entryOf(type, inference) {
  const head = await get('/v1/ledger');
  const from = Math.max(0, head.tree_size - 200);
  const { data } = await get(`/v1/ledger/entries?from=${from}&limit=200`);
  return data.reverse().find(e => e.event.type === type && e.event.payload.inference === inference) ?? null;
}

const percent = share => `${(share * 100).toFixed(1)} %`;
const shareBar = share => el('span', { class: 'share' },
  el('span', { class: 'bar', style: `width:${Math.round(share * 120)}px` }), percent(share));

function shares(scores, base) {
  const rows = Object.entries(scores).map(([name, share]) => ({ name, share })).sort((a, b) => b.share - a.share);
  return table([{ title: 'Contributor', key: 'name' }, { title: 'Share', render: r => shareBar(r.share) }],
    rows, base ? 'The base model has no fine-tuning data to credit.'
      : 'Nothing in the training data had a positive influence on this answer.');
}

// The retrieved documents as POST /v1/gui/rag answered them: rank, title, owner, BM25 score, ablation effect (nats
// of log p(answer) lost without it), share of the document pool, answer support.
function documents(rag) {
  return el('div', { id: 'rag-documents' },
    el('p', { class: 'muted' }, `${rag.documents.length} retrieved from ${rag.datanet} · ${rag.method} · `,
      `${rag.scored_prompts} scored prompts`),
    table([{ title: '#', key: 'rank', num: true }, { title: 'Document', render: d => el('span', {},
      el('strong', {}, d.title || '(untitled)'), el('br'), el('span', { class: 'mono muted' }, short(d.item))) },
    { title: 'Owner', key: 'contributor' },
    { title: 'BM25', num: true, render: d => d.retrieval_score.toFixed(2) },
    { title: 'Effect (nats)', num: true, render: d => d.effect.toFixed(3) },
    { title: 'Share', render: d => shareBar(d.share) },
    { title: 'Support', num: true, render: d => d.support === null ? '' : percent(d.support) }], rag.documents));
}

// Spans of the answer found verbatim in the training snapshot, each with the contributors whose items hold it; a
// span the answer repeats is one row (with how often the answer has it), longest first; whitespace-only spans are
// left out (they say nothing about whose words these are).
function spanList(spans) {
  if (!spans.spans) return el('p', { class: 'muted', id: 'spans' }, spans.reason);
  const rows = new Map();
  for (const s of spans.spans) {
    const text = s.text.trim();
    if (!text) continue;
    const row = rows.get(text) ?? { text, tokens: s.tokens, count: s.count, times: 0, holders: new Set() };
    row.times++;
    s.sources.forEach(o => row.holders.add(o.contributor));
    rows.set(text, row);
  }
  const list = [...rows.values()].sort((a, b) => b.tokens - a.tokens || b.times - a.times);
  return el('div', { id: 'spans' },
    el('p', { class: 'muted' }, `Spans of ≥ ${spans.min_tokens} tokens, in snapshot `,
      el('span', { class: 'mono' }, short(spans.snapshot_root))),
    table([{ title: 'Span', render: s => el('q', { class: 'span-text' }, s.text) },
      { title: 'Tokens', key: 'tokens', num: true },
      { title: 'In answer', num: true, render: s => `${s.times}×` },
      { title: 'In training data', num: true, render: s => `${s.count}×` },
      { title: 'Held by', render: s => [...s.holders].join(', ') }],
    list, 'No part of the answer occurs verbatim in the training data.'));
}

function panelView(bill, call, spans) {
  const event = bill.event, credit = bill.attribution, payload = credit?.event, rag = call.rag;
  const pending = bill.status === 'pending';
  return el('div', { 'data-status': bill.status },
    el('div', { class: 'fee' }, el('span', { class: 'muted' }, 'Fee'), el('strong', { id: 'fee' }, event.fee),
      el('span', { class: 'muted' }, `units · ${event.tokens.prompt} prompt + ${event.tokens.completion} completion`,
        ` tokens · policy v${event.policy} · epoch ${event.epoch}`)),
    el('h3', {}, 'Training data (contributors)'),
    payload ? shares(payload.scores, !call.model.includes(':'))
      : el('p', { class: pending ? 'muted loading' : 'muted', role: 'status' }, pending
        ? 'Attribution is being computed (in the background, after the answer).' : 'No attribution for this call.'),
    rag ? [el('h3', {}, 'Documents (RAG)'), documents(rag)] : null,
    el('h3', {}, 'Found verbatim in the training data'), spanList(spans),
    el('h3', {}, 'Fee split'),
    el('div', { id: 'fee-split' }, table([{ title: 'Role', key: 'role' }, { title: 'Account', key: 'account' },
      { title: 'Source',
        render: a => a.role === 'document' ? el('span', { class: 'mono' }, short(a.source)) : a.source },
      { title: 'Amount', key: 'amount', num: true }], bill.accruals ?? [],
    pending ? 'The fee splits when the attribution lands.' : 'Nothing accrued.')),
    payload ? el('p', { class: 'muted' }, `Method ${payload.method} · index root `,
      el('span', { class: 'mono' }, short(payload.index_root)), ' · ',
      el('a', { href: `#/ledger?hash=${credit.leaf_hash}` }, `ledger entry #${credit.entry}`)) : null);
}
