// Small DOM helpers: el() builds elements, and the rest render the shapes every page shares (tables, fields,
// loading and error states).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false)
    node.append(c instanceof Node ? c : String(c));
  return node;
}

let ids = 0;
export const uid = prefix => `${prefix}-${++ids}`;

// A labelled input (the label's for= matches the input's id, so every control has an accessible name).
export function field(label, input, hint) {
  input.id ||= uid('f');
  return el('div', { class: 'field' }, el('label', { for: input.id }, label, hint ? el('span', { class: 'hint' },
    ` — ${hint}`) : null), input);
}

export function select(name, options, value) {
  return el('select', { name }, options.map(o => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return el('option', { value: v, selected: v === value }, text);
  }));
}

export function table(columns, rows, empty = 'Nothing yet.') {
  if (!rows.length) return el('p', { class: 'muted' }, empty);
  return el('table', {},
    el('thead', {}, el('tr', {}, columns.map(c => el('th', { class: c.num ? 'num' : null, scope: 'col' }, c.title)))),
    el('tbody', {}, rows.map(r => el('tr', {}, columns.map(c => {
      const v = c.render ? c.render(r) : r[c.key];
      return el('td', { class: c.num ? 'num' : null }, v ?? '');
    })))));
}

// kind picks the colour (a CSS class), text what it says (defaults to the kind).
export const badge = (kind, text = kind) => el('span', { class: `badge ${kind}` }, text);
export const short = hash => hash ? `${hash.slice(0, 12)}…` : '';

export function loading(node, text = 'Loading') {
  node.replaceChildren(el('p', { class: 'muted loading', role: 'status' }, text));
}

export function showError(node, error) {
  node.replaceChildren(el('p', { class: 'error', role: 'alert' }, error.message ?? String(error)));
}

// Runs an async action from a button: disabled while it runs, the error shown in `status`.
export async function busy(button, status, action) {
  button.disabled = true;
  status.replaceChildren(el('span', { class: 'muted loading', role: 'status' }, 'Working'));
  try {
    const result = await action();
    status.replaceChildren();
    return result;
  } catch (e) {
    showError(status, e);
    return undefined;
  } finally { button.disabled = false; }
}

export const can = (session, ...roles) => roles.includes(session.role);

export function card(title, ...children) {
  return el('section', { class: 'card' }, title ? el('h2', {}, title) : null, ...children);
}
