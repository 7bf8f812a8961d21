// Evaluate: one predict job for the base model and one for an adapter over the same data, their ROUGE/BLEU side by
// side, and the predictions next to the references.
import { get, post } from '../api.js';
import { el, field, select, table, loading, showError, busy, card, short } from '../ui.js';
import { toYaml } from '../yaml.js';
import { follow } from '../jobs.js';

const running = [];

export async function render(root) {
  root.append(el('h1', {}, 'Evaluate'));
  const body = el('div');
  root.append(body);
  loading(body);
  let form, snapshots, adapters;
  try {
    form = await get('/v1/gui/train-form');
    const { data } = await get('/v1/datanets');
    const all = await Promise.all(data.map(d => get(`/v1/datanets/${encodeURIComponent(d.name)}`)));
    snapshots = all.flatMap(d => d.snapshots.map(s => ({ label: `${d.name} @ ${short(s.root)}`, dataset: d.name,
      dir: `${form.snapshots_dir}/${d.name}/${s.root}` })));
    const jobs = (await get('/v1/jobs?limit=100')).data;
    adapters = jobs.filter(j => j.kind === 'train' && j.state === 'succeeded' && j.result?.output_dir)
      .map(j => ({ dir: j.result.output_dir, template: /^template:\s*(\S+)/m.exec(j.payload?.config ?? '')?.[1] }));
  } catch (e) { showError(body, e); return; }
  if (!snapshots.length || !adapters.length) {
    body.replaceChildren(card(null, el('p', { class: 'muted' },
      'Evaluation needs a datanet snapshot and a finished training run. Make them on the Datanets and Train pages.')));
    return;
  }
  const data = select('data', snapshots.map((s, i) => [String(i), s.label]), '0');
  const adapter = select('adapter', adapters.map((a, i) => [String(i), a.dir]), '0');
  const samples = el('input', { type: 'number', name: 'max_samples', value: '8', min: '1' });
  const tokens = el('input', { type: 'number', name: 'max_new_tokens', value: '16', min: '1' });
  const status = el('div'), button = el('button', { type: 'submit' }, 'Evaluate base and adapter');
  const results = el('div', { id: 'eval-results' });
  const formNode = el('form', { 'aria-label': 'Evaluation' }, el('div', { class: 'row' }, field('Test data', data),
    field('Adapter', adapter), field('Examples', samples, 'max_samples'), field('New tokens', tokens,
      'max_new_tokens')), button, status);
  formNode.addEventListener('submit', async e => {
    e.preventDefault();
    const s = snapshots[Number(data.value)], a = adapters[Number(adapter.value)];
    const stamp = Date.now();
    const config = adapterDir => toYaml([
      ['model_name_or_path', 'string', form.model_dir], ...(adapterDir ? [['adapter_name_or_path', 'string',
        adapterDir]] : []), ['dataset', 'string', s.dataset], ['dataset_dir', 'string', s.dir],
      ...(a.template ? [['template', 'string', a.template]] : []), ['do_predict', 'bool', 'true'],
      ['predict_with_generate', 'bool', 'true'], ['max_samples', 'int', samples.value],
      ['max_new_tokens', 'int', tokens.value], ['device', 'string', form.device],
      ['output_dir', 'string', `${form.runs_dir}/eval-${stamp}-${adapterDir ? 'adapter' : 'base'}`]]);
    await busy(button, status, async () => {
      const base = await post('/v1/jobs/predict', config(null), 'application/yaml');
      const tuned = await post('/v1/jobs/predict', config(a.dir), 'application/yaml');
      results.replaceChildren(el('p', { class: 'muted loading', role: 'status' }, 'Running both evaluations'));
      const [b, t] = await Promise.all([finish(base), finish(tuned)]);
      results.replaceChildren(await compare(b, t));
    });
  });
  body.replaceChildren(card('Base vs adapter', formNode), results);
  return () => running.forEach(r => r.stop());
}

function finish(job) {
  return new Promise((resolve, reject) => {
    const f = follow(job.id, { end: resolve, error: reject });
    running.push(f);
  });
}

async function compare(base, tuned) {
  for (const j of [base, tuned]) if (j.state !== 'succeeded') throw new Error(`job ${j.id} ${j.state}: ${j.error}`);
  const metrics = [...new Set([...Object.keys(base.result), ...Object.keys(tuned.result)])]
    .filter(k => typeof base.result[k] === 'number' || typeof tuned.result[k] === 'number');
  const [bp, tp] = await Promise.all([get(`/v1/gui/jobs/${base.id}/predictions`),
    get(`/v1/gui/jobs/${tuned.id}/predictions`)]);
  const num = v => typeof v === 'number' ? v.toFixed(3) : '';
  const rows = bp.data.map((p, i) => ({ prompt: p.prompt, label: p.label, base: p.predict,
    tuned: tp.data[i]?.predict }));
  return el('div', {},
    card('Scores', table([{ title: 'Metric', key: 'metric' }, { title: 'Base', key: 'base', num: true },
      { title: 'Adapter', key: 'tuned', num: true }],
    metrics.map(m => ({ metric: m, base: num(base.result[m]), tuned: num(tuned.result[m]) })))),
    card(`Predictions (${bp.total})`, table([{ title: 'Prompt', key: 'prompt' }, { title: 'Reference', key: 'label' },
      { title: 'Base', key: 'base' }, { title: 'Adapter', key: 'tuned' }], rows)));
}
