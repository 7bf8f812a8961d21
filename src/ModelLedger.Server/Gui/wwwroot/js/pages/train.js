// Train: a form generated from the config key table (GET /v1/gui/train-form: every key's type, default, allowed
// values and help), the YAML it will run (shown, downloadable), start, a live loss chart with progress and ETA from
// the job's events, cancel, resume (the same config with resume_from_checkpoint: latest), and earlier runs.
import { get, post } from '../api.js';
import { el, field, select, table, badge, short, loading, showError, busy, can, card } from '../ui.js';
import { lineChart } from '../chart.js';
import { toYaml } from '../yaml.js';
import { follow, configOf, eta } from '../jobs.js';

// The keys shown first; the rest of the table sits under "All settings".
const BASIC = ['finetuning_type', 'lora_rank', 'lora_alpha', 'lora_target', 'quantization_bit', 'template',
  'num_train_epochs', 'max_steps', 'learning_rate', 'cutoff_len', 'per_device_train_batch_size', 'attribution'];
const DATA_KEYS = ['dataset', 'dataset_dir'];
let following = null;

export async function render(root, session) {
  root.append(el('h1', {}, 'Train'));
  const body = el('div');
  root.append(body);
  loading(body);
  let form, snapshots;
  try {
    form = await get('/v1/gui/train-form');
    snapshots = await snapshotChoices(form.snapshots_dir);
  } catch (e) { showError(body, e); return; }
  const run = el('div', { id: 'run' }), runs = el('div');
  body.replaceChildren(configCard(form, snapshots, session, job => watch(run, job, session, refreshRuns)), run,
    card('Earlier runs', runs));
  async function refreshRuns() {
    try {
      const { data } = await get('/v1/jobs?limit=50');
      runs.replaceChildren(table([
        { title: 'Job', render: j => el('button', { type: 'button', class: 'link mono',
          onclick: () => watch(run, j, session, refreshRuns) }, j.id) },
        { title: 'State', render: j => badge(j.state) },
        { title: 'Started', render: j => new Date(j.created).toLocaleString() },
        { title: 'Steps', num: true, render: j => j.result?.run?.steps ?? '' },
        { title: 'Train loss', num: true, render: j => fmt(j.result?.run?.train_loss) },
        { title: 'Ledger entry', render: j => j.result?.ledger ? el('a', {
          href: `#/ledger?hash=${j.result.ledger.leaf_hash}` }, `#${j.result.ledger.index}`) : '' },
      ], data.filter(j => j.kind === 'train'), 'No training runs yet.'));
    } catch (e) { showError(runs, e); }
  }
  await refreshRuns();
  return () => following?.stop();
}

const fmt = v => typeof v === 'number' ? v.toFixed(4) : '';

async function snapshotChoices(dir) {
  const { data } = await get('/v1/datanets');
  const all = await Promise.all(data.map(d => get(`/v1/datanets/${encodeURIComponent(d.name)}`)));
  return all.flatMap(d => d.snapshots.map(s => ({ label: `${d.name} @ ${short(s.root)} (${s.items} items)`,
    dataset: d.name, dir: `${dir}/${d.name}/${s.root}` })));
}

// Whether a key's documented default is a value the form can hold, rather than a rule ("2 × lora_rank", "true for
// pt") or a placeholder ("none", "(required)"); a rule leaves the field empty, so the run applies it.
function literal(key) {
  if (key.type === 'bool') return key.default === 'true' || key.default === 'false';
  if (key.type === 'choice') return key.allowed.split(', ').includes(key.default);
  if (key.type === 'int' || key.type === 'float') return key.default !== '' && !isNaN(Number(key.default));
  return !/^(none|\(required\))$/.test(key.default);
}

function input(key, value) {
  const rule = literal(key) ? [] : [['', `default: ${key.default}`]];
  if (key.type === 'choice') return select(key.name, [...rule, ...key.allowed.split(', ')], value);
  if (key.type === 'bool') return select(key.name, [...rule, 'true', 'false'], value);
  if (key.name === 'quantization_bit') return select(key.name, [['', 'none'], '4', '8'], value);
  const attrs = { name: key.name, value, placeholder: literal(key) ? null : key.default };
  if (key.type === 'int') Object.assign(attrs, { type: 'number', step: '1' });
  else if (key.type === 'float') Object.assign(attrs, { type: 'number', step: 'any' });
  return el('input', attrs);
}

function configCard(form, snapshots, session, started) {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15).replace('T', '-');
  const defaults = {
    model_name_or_path: form.model_dir, output_dir: `${form.runs_dir}/run-${stamp}`, device: form.device,
  };
  const controls = new Map();
  const make = key => {
    const start = defaults[key.name] ?? (literal(key) ? key.default : '');
    const control = input(key, start);
    controls.set(key.name, { key, control });
    return field(key.name, control, key.help);
  };
  const byName = Object.fromEntries(form.keys.map(k => [k.name, k]));
  const source = select('data_source', [...snapshots.map((s, i) => [String(i), s.label]),
    ['custom', 'A dataset folder on the server']], snapshots.length ? '0' : 'custom');
  const custom = el('div', { class: 'row', hidden: snapshots.length > 0 }, DATA_KEYS.map(n => make(byName[n])));
  source.addEventListener('change', () => { custom.hidden = source.value !== 'custom'; update(); });
  const basic = el('div', { class: 'row' }, make(byName.model_name_or_path), make(byName.output_dir),
    BASIC.map(n => make(byName[n])));
  const rest = form.keys.filter(k => !BASIC.includes(k.name) && !DATA_KEYS.includes(k.name)
    && !['model_name_or_path', 'output_dir'].includes(k.name));
  const advanced = el('details', {}, el('summary', {}, `All settings (${rest.length} more keys)`),
    el('div', { class: 'row' }, rest.map(make)));
  const yaml = el('pre', { class: 'yaml', id: 'yaml', 'aria-label': 'The config this run will use' });
  const download = el('a', { download: 'train.yaml', href: '#', class: 'badge' }, 'Download YAML');
  const status = el('div'), button = el('button', { type: 'submit' }, 'Start training');

  function entries() {
    const out = [];
    for (const { key, control } of controls.values()) {
      const v = control.value.trim();
      if (DATA_KEYS.includes(key.name) && source.value !== 'custom') continue;
      if (v === '' || (v === key.default && !defaults[key.name])) continue;
      out.push([key.name, key.type, v]);
    }
    if (source.value !== 'custom') {
      const s = snapshots[Number(source.value)];
      out.splice(1, 0, ['dataset', 'string', s.dataset], ['dataset_dir', 'string', s.dir]);
    }
    return out;
  }
  function update() {
    const text = toYaml(entries());
    yaml.textContent = text;
    URL.revokeObjectURL(download.href);
    download.href = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
  }
  const formNode = el('form', { 'aria-label': 'Training config', oninput: update, onchange: update },
    el('div', { class: 'row' }, field('Training data', source)), custom, basic, advanced,
    el('h3', {}, 'Config'), yaml, el('div', { class: 'actions' }, button, download), status);
  formNode.addEventListener('submit', async e => {
    e.preventDefault();
    const job = await busy(button, status, () => post('/v1/jobs/train', toYaml(entries()), 'application/yaml'));
    if (job) started(job);
  });
  update();
  if (!can(session, 'admin', 'trainer')) button.hidden = true;
  return card('New run', formNode);
}

function watch(target, job, session, finished) {
  following?.stop();
  const chart = lineChart('Training loss by step');
  const bar = el('div'), progress = el('div', { class: 'progress', role: 'progressbar', 'aria-label': 'Progress',
    'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 }, bar);
  const state = el('span', { id: 'job-state' }, badge(job.state)), phase = el('span', { class: 'muted' });
  const steps = el('span', { id: 'job-steps' }), left = el('span', { class: 'muted' });
  const log = el('pre', { class: 'yaml', 'aria-label': 'Job messages' });
  const status = el('div'), actions = el('div', { class: 'actions' });
  const cancel = el('button', { type: 'button', class: 'danger' }, 'Cancel');
  cancel.addEventListener('click', () => busy(cancel, status, () => post(`/v1/jobs/${job.id}/cancel`, {})));
  const resume = el('button', { type: 'button', class: 'secondary' }, 'Resume');
  resume.addEventListener('click', async () => {
    const config = configOf(job).replace(/^resume_from_checkpoint:.*\n?/m, '') + 'resume_from_checkpoint: latest\n';
    const next = await busy(resume, status, () => post('/v1/jobs/train', config, 'application/yaml'));
    if (next) watch(target, next, session, finished);
  });
  const serve = el('button', { type: 'button', class: 'secondary' }, 'Serve this adapter');
  const result = el('div', { id: 'job-result' });
  const setState = j => {
    state.replaceChildren(badge(j.state));
    const over = ['succeeded', 'failed', 'cancelled'].includes(j.state);
    cancel.hidden = over;
    resume.hidden = !['failed', 'cancelled'].includes(j.state);
    serve.hidden = !(j.state === 'succeeded' && can(session, 'admin'));
  };
  serve.addEventListener('click', async () => {
    const dir = job.result?.output_dir;
    const name = dir.split('/').filter(Boolean).pop();
    const served = await busy(serve, status, () => post('/v1/adapters', { name, path: dir }));
    if (served) status.replaceChildren(el('p', { class: 'ok', role: 'status' },
      `Serving ${served.model}; chat with it on the Chat page.`));
  });
  actions.append(cancel, resume, serve);
  setState(job);
  target.replaceChildren(card(`Run ${job.id}`, el('p', {}, state, ' ', phase, ' ', steps, ' ', left), progress,
    el('div', { class: 'cols2' }, el('div', {}, el('h3', {}, 'Loss'), chart.node),
      el('div', {}, el('h3', {}, 'Messages'), log)), result, actions, status));
  target.scrollIntoView?.({ block: 'start' });
  following = follow(job.id, {
    phase: p => { phase.textContent = p; if (job.state === 'queued') setState({ ...job, state: 'running' }); },
    step: s => {
      if (typeof s.loss === 'number') chart.add(s.step, s.loss);
      steps.textContent = `step ${s.step} / ${s.total}`;
      const pct = Math.round(100 * s.step / Math.max(1, s.total));
      bar.style.width = `${pct}%`;
      progress.setAttribute('aria-valuenow', pct);
      left.textContent = eta(s.eta_seconds);
    },
    message: m => { log.textContent += `${m}\n`; log.scrollTop = log.scrollHeight; },
    end: j => {
      job = j;
      setState(j);
      phase.textContent = '';
      left.textContent = '';
      result.replaceChildren(j.error ? el('p', { class: 'error', role: 'alert' }, j.error) : runResult(j.result));
      finished();
    },
    error: e => showError(status, e),
  });
}

function runResult(r) {
  if (!r) return '';
  return el('dl', { class: 'fields' },
    el('div', {}, el('dt', {}, 'Train loss'), el('dd', {}, fmt(r.run?.train_loss))),
    el('div', {}, el('dt', {}, 'Adapter'), el('dd', { class: 'mono hash' }, r.output_dir)),
    r.ledger ? el('div', {}, el('dt', {}, 'Ledger entry'), el('dd', {}, el('a', {
      href: `#/ledger?hash=${r.ledger.leaf_hash}`, id: 'run-ledger-link' },
    `#${r.ledger.index} ${short(r.ledger.leaf_hash)}`)))
      : null);
}
