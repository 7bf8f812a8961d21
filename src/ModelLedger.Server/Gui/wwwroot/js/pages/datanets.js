// Datanets: list and create (trainer/admin), contribute a file as a contributor (admin or that contributor's key),
// every record answered accepted (item id) or rejected (code, reason, duplicate_of), and snapshots.
import { get, post } from '../api.js';
import { el, field, select, table, badge, short, loading, showError, busy, can, card } from '../ui.js';

const FORMATS = ['alpaca', 'sharegpt', 'text', 'documents'];

export async function render(root, session) {
  const list = el('div', {}), detail = el('div', { id: 'datanet-detail' });
  root.append(el('h1', {}, 'Datanets'),
    el('p', { class: 'muted' }, 'Curated datasets whose every record is signed by its contributor and logged.'),
    can(session, 'admin', 'trainer') ? createForm(name => refresh(name)) : null,
    card('All datanets', list), detail);

  async function refresh(open) {
    loading(list);
    try {
      const { data } = await get('/v1/datanets');
      list.replaceChildren(table([
        { title: 'Name', render: d => el('button', { type: 'button', class: 'link', onclick: () => show(d.name) },
          d.name) },
        { title: 'Format', key: 'format' }, { title: 'License', key: 'license' },
        { title: 'Created', render: d => new Date(d.created).toLocaleString() },
      ], data, 'No datanets yet.'));
      if (open) await show(open);
    } catch (e) { showError(list, e); }
  }

  async function show(name) {
    loading(detail);
    try {
      const [d, { data: contributors }] = await Promise.all([
        get(`/v1/datanets/${encodeURIComponent(name)}`), get('/v1/contributors')]);
      detail.replaceChildren(datanetCard(d, contributors, session, () => show(name)));
    } catch (e) { showError(detail, e); }
  }
  await refresh();
}

function createForm(created) {
  const name = el('input', { name: 'name', required: true, placeholder: 'support-qa' });
  const format = select('format', FORMATS, 'alpaca');
  const license = el('input', { name: 'license', placeholder: 'CC-BY-4.0' });
  const description = el('input', { name: 'description' });
  const status = el('div'), button = el('button', { type: 'submit' }, 'Create datanet');
  const form = el('form', { 'aria-label': 'Create a datanet' }, el('div', { class: 'row' },
    field('Name', name), field('Format', format), field('License', license), field('Description', description)),
    button, status);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const body = { name: name.value, format: format.value };
    if (license.value) body.license = license.value;
    if (description.value) body.description = description.value;
    const made = await busy(button, status, () => post('/v1/datanets', body));
    if (made) { form.reset(); await created(made.name); }
  });
  return card('New datanet', form);
}

function datanetCard(d, contributors, session, reload) {
  const perContributor = Object.entries(d.contributors ?? {}).map(([name, items]) => ({ name, items }));
  return el('div', {},
    card(`Datanet ${d.name}`,
      el('p', {}, badge(d.format), ' ',
        `${d.items} accepted items · near-duplicate threshold ${d.near_dup_threshold}`),
      el('p', { class: 'muted mono hash' }, `ledger entry ${d.leaf_hash}`),
      el('div', { class: 'cols2' },
        el('div', {}, el('h3', {}, 'Items per contributor'), table([{ title: 'Contributor', key: 'name' },
          { title: 'Items', key: 'items', num: true }], perContributor, 'No contributions yet.')),
        el('div', {}, el('h3', {}, 'Rejections'), table([{ title: 'Contributor', key: 'contributor' },
          { title: 'Reason', key: 'code' }, { title: 'Count', key: 'count', num: true }], d.rejections,
          'None.')))),
    can(session, 'admin', 'contributor') ? uploadCard(d, contributors, session, reload) : null,
    snapshotCard(d, session, reload));
}

function uploadCard(d, contributors, session, reload) {
  const mine = session.account.startsWith('contributor:') ? session.account.slice('contributor:'.length) : null;
  const names = contributors.map(c => c.name).filter(n => session.role === 'admin' || n === mine);
  const who = select('contributor', names, mine ?? names[0]);
  const file = el('input', { type: 'file', name: 'file', accept: '.json,.jsonl', multiple: true, required: true });
  const status = el('div'), results = el('div', { id: 'upload-results' });
  const button = el('button', { type: 'submit' }, 'Upload');
  const form = el('form', { 'aria-label': 'Contribute records' }, el('div', { class: 'row' },
    field('Contribute as', who), field('Files', file, `.json or .jsonl in ${d.format} format`)), button, status);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const body = new FormData();
    body.append('contributor', who.value);
    for (const f of file.files) body.append('file', f);
    const answer = await busy(button, status, () => post(`/v1/datanets/${encodeURIComponent(d.name)}/contributions`,
      body));
    if (!answer) return;
    results.replaceChildren(el('p', { role: 'status' }, `${answer.accepted} accepted, ${answer.rejected} rejected`),
      table([{ title: 'File', key: 'file' }, { title: 'Record', key: 'record', num: true },
        { title: 'Outcome', render: r => badge(r.status) },
        { title: 'Item / reason', render: r => r.status === 'accepted' ? el('span', { class: 'mono' }, short(r.item))
          : `${r.code}: ${r.reason}` },
        { title: 'Duplicate of', render: r => r.duplicate_of ? el('span', { class: 'mono' }, short(r.duplicate_of))
          : '' }], answer.records));
  });
  if (!names.length) return card('Contribute', el('p', { class: 'muted' }, 'No contributor is registered.'));
  return card('Contribute', form, results);
}

function snapshotCard(d, session, reload) {
  const status = el('div');
  const button = can(session, 'admin', 'trainer') ? el('button', { type: 'button' }, 'Snapshot now') : null;
  button?.addEventListener('click', async () => {
    if (await busy(button, status, () => post(`/v1/datanets/${encodeURIComponent(d.name)}/snapshot`, {}))) reload();
  });
  return card('Snapshots', table([{ title: 'Root', render: s => el('span', { class: 'mono' }, short(s.root)) },
    { title: 'Items', key: 'items', num: true },
    { title: 'Ledger entry', render: s => el('a', { href: `#/ledger?hash=${s.leaf_hash}` }, short(s.leaf_hash)) },
    { title: 'Created', render: s => new Date(s.created).toLocaleString() }], d.snapshots, 'No snapshot yet.'),
  button, status);
}
