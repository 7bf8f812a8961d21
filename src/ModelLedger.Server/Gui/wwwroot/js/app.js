// The shell: sign-in with an API key, the nav (links a role may not use are hidden; the API refuses them anyway)
// and a hash router that renders one page module at a time into #page.
import { session, setKey, get } from './api.js';
import { el, showError } from './ui.js';

const pages = {
  datanets: () => import('./pages/datanets.js'), train: () => import('./pages/train.js'),
  evaluate: () => import('./pages/evaluate.js'), chat: () => import('./pages/chat.js'),
  ledger: () => import('./pages/ledger.js'), rewards: () => import('./pages/rewards.js'),
  export: () => import('./pages/export.js'),
};
const $ = id => document.getElementById(id);
let current = null;   // the page's dispose(), called when another page replaces it

function allowed(link) {
  const roles = link.dataset.roles;
  return !roles || roles.split(' ').includes(session.role);
}

async function signIn() {
  try {
    const me = await get('/v1/gui/session');
    Object.assign(session, { role: me.role, account: me.account });
  } catch (e) {
    setKey(null);
    throw e;
  }
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('who').hidden = false;
  $('who-text').textContent = `${session.account} · ${session.role}`;
  for (const a of document.querySelectorAll('#nav a')) a.hidden = !allowed(a);
  await route();
}

function signOut() {
  setKey(null);
  Object.assign(session, { role: null, account: null });
  current?.();
  current = null;
  $('page').replaceChildren();
  $('nav').hidden = true;
  $('who').hidden = true;
  $('sign-in').hidden = false;
  $('api-key').focus();
}

async function route() {
  if (!session.role) return;
  let name = location.hash.replace(/^#\//, '').split('?')[0];
  const link = document.querySelector(`#nav a[data-page="${name}"]`);
  if (!link || link.hidden) name = 'datanets';
  for (const a of document.querySelectorAll('#nav a'))
    a.toggleAttribute('aria-current', a.dataset.page === name) && a.setAttribute('aria-current', 'page');
  current?.();
  current = null;
  const target = $('page');
  target.replaceChildren();
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · ModelLedger`;
  try {
    const module = await pages[name]();
    current = await module.render(target, session) ?? null;
  } catch (e) { showError(target, e); }
}

$('sign-in-form').addEventListener('submit', async event => {
  event.preventDefault();
  setKey($('api-key').value.trim());
  $('sign-in-error').textContent = '';
  try { await signIn(); } catch (e) { $('sign-in-error').textContent = e.message; }
});
$('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', route);

if (session.key) signIn().catch(signOut); else signOut();
export { el };
