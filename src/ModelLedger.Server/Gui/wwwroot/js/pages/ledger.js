// Ledger explorer: entries newest first (type filter), one entry with its refs as links (adapter → snapshot →
// contributors), the latest signed checkpoint with its Ed25519 signature checked here against a verifier key the
// user may replace with the one they trust, and an inclusion proof of the entry checked here, with WebCrypto: the
// leaf hash is recomputed from the leaf bytes and the root from the audit path, then compared with the root the
// checkpoint signed.
import { get, post } from '../api.js';
import { el, table, loading, showError, busy, can, card, short, badge } from '../ui.js';
import { leafHash, rootFromInclusion, base64Bytes } from '../merkle.js';
import { verifyNote } from '../note.js';

// The verifier key the checkpoints are checked against: the server's until the user pastes another.
let trustedKey = null;

function signatureView(result) {
  return el('p', { id: 'checkpoint-signature', role: 'status' },
    badge(result.ok ? 'verified' : 'invalid', result.ok ? 'signature verified' : 'not verified'), ' ',
    el('span', { class: 'muted' }, result.reason));
}

const PAGE = 100;

export async function render(root, session) {
  root.append(el('h1', {}, 'Ledger'));
  const head = el('div'), list = el('div'), detail = el('div', { id: 'entry' });
  root.append(el('div', { class: 'cols2' }, card('Log', head), detail), card('Entries', list));
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  await showHead(head, session);
  await showList(list, detail, session);
  if (params.get('hash')) await showEntry(detail, `/v1/ledger/entries/by-hash/${params.get('hash')}`, session, head);
}

async function showHead(node, session) {
  loading(node);
  try {
    const log = await get('/v1/ledger');
    const { checkpoint } = await get('/v1/gui/checkpoint');
    const status = el('div'), sign = el('button', { type: 'button', class: 'secondary' }, 'Sign a checkpoint now');
    sign.addEventListener('click', async () => {
      if (await busy(sign, status, () => post('/v1/ledger/checkpoint', {}))) await showHead(node, session);
    });
    trustedKey ??= log.verifier_key;
    const key = el('input', { id: 'verifier-key', class: 'mono', value: trustedKey, spellcheck: 'false' });
    const verdict = el('div');
    const check = async () => {
      trustedKey = key.value.trim();
      if (checkpoint) verdict.replaceChildren(signatureView(await verifyNote(checkpoint.note, trustedKey)));
    };
    key.addEventListener('change', check);
    node.replaceChildren(el('p', {}, `${log.origin} · ${log.tree_size} entries`),
      el('p', { class: 'mono hash muted' }, `root ${log.root ?? '(empty)'}`),
      el('h3', {}, 'Latest signed checkpoint'),
      checkpoint ? el('pre', { class: 'yaml', id: 'checkpoint' }, checkpoint.note)
        : el('p', { class: 'muted' }, 'No checkpoint signed yet.'),
      verdict,
      el('label', { for: 'verifier-key' }, 'Trusted verifier key',
        el('span', { class: 'hint' }, ' — the server\'s; paste the one ', el('code', {}, 'mledger ledger init'),
          ' printed to trust that instead')),
      key, can(session, 'admin') ? sign : null, status);
    await check();
  } catch (e) { showError(node, e); }
}

async function showList(node, detail, session) {
  loading(node);
  try {
    const log = await get('/v1/ledger');
    const from = Math.max(0, log.tree_size - PAGE);
    const { data } = await get(`/v1/ledger/entries?from=${from}&limit=${PAGE}`);
    const types = [...new Set(data.map(e => e.event.type))].sort();
    const filter = el('select', { id: 'type-filter' }, el('option', { value: '' }, 'all types'),
      types.map(t => el('option', { value: t }, t)));
    const rows = el('div');
    const draw = () => rows.replaceChildren(table([
      { title: '#', key: 'index', num: true },
      { title: 'Type', render: e => el('button', { type: 'button', class: 'link',
        onclick: () => showEntry(detail, `/v1/ledger/entries/${e.index}`, session) }, e.event.type) },
      { title: 'Actor', render: e => e.event.actor }, { title: 'Time', render: e => e.event.ts },
      { title: 'Leaf hash', render: e => el('span', { class: 'mono' }, short(e.leaf_hash)) },
    ], data.filter(e => !filter.value || e.event.type === filter.value).reverse(), 'The log is empty.'));
    filter.addEventListener('change', draw);
    draw();
    node.replaceChildren(el('label', { for: 'type-filter' }, 'Entry type'), filter,
      el('p', { class: 'muted' }, from > 0 ? `The newest ${PAGE} of ${log.tree_size}.` : `All ${log.tree_size}.`),
      rows);
  } catch (e) { showError(node, e); }
}

async function showEntry(node, path, session) {
  loading(node);
  try {
    const entry = await get(path);
    const proof = el('div', { id: 'proof' }), proofStatus = el('div');
    const verify = el('button', { type: 'button' }, 'Verify inclusion in the browser');
    verify.addEventListener('click', () => busy(verify, proofStatus, () => prove(entry, proof)));
    const refs = entry.event.refs.map(h => el('li', {}, el('button', { type: 'button', class: 'link mono',
      onclick: () => showEntry(node, `/v1/ledger/entries/by-hash/${h}`, session) }, h)));
    node.replaceChildren(card(`Entry #${entry.index}: ${entry.event.type}`,
      el('p', { class: 'mono hash muted' }, `leaf hash ${entry.leaf_hash}`),
      el('h3', {}, 'References'), refs.length ? el('ul', {}, refs) : el('p', { class: 'muted' }, 'None.'),
      el('h3', {}, 'Event'), el('pre', { class: 'yaml' }, JSON.stringify(entry.event, null, 2)),
      verify, proofStatus, proof));
  } catch (e) { showError(node, e); }
}

// The checkpoint note (C2SP signed note): origin, tree size, base64 root hash, blank line, signatures.
function checkpointRoot(note) {
  const [, size, root] = note.split('\n');
  const bytes = base64Bytes(root);
  return { size: Number(size), root: [...bytes].map(b => b.toString(16).padStart(2, '0')).join('') };
}

async function prove(entry, out) {
  const { checkpoint } = await get('/v1/gui/checkpoint');
  if (!checkpoint) throw new Error('No checkpoint is signed yet: an admin can sign one above.');
  const signature = await verifyNote(checkpoint.note, trustedKey ?? (await get('/v1/ledger')).verifier_key);
  const signed = checkpointRoot(checkpoint.note);
  if (entry.index >= signed.size)
    throw new Error(`Entry #${entry.index} is newer than the latest checkpoint (size ${signed.size}): sign a new one.`);
  const computedLeaf = await leafHash(base64Bytes(entry.leaf));
  const proof = await get(`/v1/ledger/proofs/inclusion?index=${entry.index}&size=${signed.size}`);
  const computedRoot = await rootFromInclusion(entry.index, signed.size, computedLeaf, proof.path);
  const ok = signature.ok && computedLeaf === entry.leaf_hash && computedRoot === signed.root;
  out.replaceChildren(el('p', { role: 'status' }, badge(ok ? 'verified' : 'invalid', ok ? 'verified' : 'not verified'),
    ' ', ok ? `Entry #${entry.index} is in the signed tree of ${signed.size} entries.`
      : !signature.ok ? `The checkpoint's signature does not verify (${signature.reason}).`
        : 'The proof does not lead to the signed root.'),
  el('table', {}, el('tbody', {},
    [['Leaf hash (computed here)', computedLeaf], ['Leaf hash (server)', entry.leaf_hash],
      ['Root (computed from the path)', computedRoot], ['Root (signed checkpoint)', signed.root],
      ['Checkpoint signature', signature.ok ? `verified: ${signature.reason}` : `not verified: ${signature.reason}`],
      ['Audit path', `${proof.path.length} hashes`]].map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k),
      el('td', { class: 'mono hash' }, v))))));
}
