// Export: a finished training run's adapter merged into the base model, as an HF checkpoint (downloaded as a zip)
// or a GGUF file, through POST /v1/gui/exports and its download link.
import { get, post, session } from '../api.js';
import { el, field, select, table, loading, showError, busy, card } from '../ui.js';

export async function render(root) {
  root.append(el('h1', {}, 'Export'));
  const body = el('div');
  root.append(body);
  loading(body);
  let runs;
  try {
    runs = (await get('/v1/jobs?limit=100')).data.filter(j => j.kind === 'train' && j.state === 'succeeded');
  } catch (e) { showError(body, e); return; }
  if (!runs.length) {
    body.replaceChildren(card(null, el('p', { class: 'muted' }, 'Export needs a finished training run (Train page).')));
    return;
  }
  const run = select('job', runs.map(j => [j.id, `${j.id} · ${j.result.output_dir}`]), runs[0].id);
  const format = select('format', [['hf', 'Merged HF checkpoint (safetensors)'], ['gguf', 'GGUF file']], 'hf');
  const type = select('gguf_type', ['f16', 'f32', 'q8_0'], 'f16');
  const typeField = field('GGUF type', type);
  typeField.hidden = true;
  format.addEventListener('change', () => { typeField.hidden = format.value !== 'gguf'; });
  const status = el('div'), done = el('div', { id: 'exports' }), made = [];
  const button = el('button', { type: 'submit' }, 'Export');
  const form = el('form', { 'aria-label': 'Export' }, el('div', { class: 'row' }, field('Training run', run),
    field('Format', format), typeField), button, status);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const body = { job: run.value, format: format.value };
    if (format.value === 'gguf') body.gguf_type = type.value;
    const result = await busy(button, status, () => post('/v1/gui/exports', body));
    if (!result) return;
    made.unshift(result);
    done.replaceChildren(table([{ title: 'Run', key: 'job' }, { title: 'Format', key: 'format' },
      { title: 'Size', num: true, render: x => `${(x.bytes / 1024).toFixed(1)} KiB` },
      { title: 'File', render: x => el('button', { type: 'button', class: 'link', onclick: () => download(x) },
        'Download') }], made));
  });
  body.replaceChildren(card('Merge and export', form), card('Exports', done));
}

// The download needs the key header, so it is fetched and handed to the browser as a blob.
async function download(x) {
  const response = await fetch(x.download, { headers: { Authorization: `Bearer ${session.key}` } });
  if (!response.ok) throw new Error(`download failed: ${response.status}`);
  const name = /filename="?([^";]+)/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? 'export';
  const link = el('a', { href: URL.createObjectURL(await response.blob()), download: name });
  document.body.append(link);
  link.click();
  link.remove();
}
