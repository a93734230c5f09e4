// The page: sign-in, then a hash router over the views. Every view renders into <main>.
import { ApiError, getJSON, hasSession, onSignedOut, signIn, signOut } from './api.js';
import { field, h, replace, toast } from './dom.js';
import { accountView, usersView } from './accounts.js';
import { studiesView, studyView } from './studies.js';
import { uploadView } from './upload.js';
import { viewerView } from './viewer.js';

const main = document.getElementById('main');
const bar = document.querySelector('header.bar');
export const session = { user: null };
let leaving = null; // the current view's clean-up (blob URLs, listeners)

function signInView(message) {
  bar.hidden = true;
  session.user = null;
  const username = field('Username', { name: 'username', autocomplete: 'username', required: true });
  const password = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' }, message || '');
  const form = h('form', { class: 'card sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in to DICOM API'),
    username.el, password.el, error,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    form.querySelector('button').disabled = true;
    try {
      await signIn(username.input.value, password.input.value);
      await start();
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : 'The server cannot be reached.';
      form.querySelector('button').disabled = false;
      password.input.select();
    }
  });
  replace(main, form);
  username.input.focus();
}

async function start() {
  try {
    session.user = await getJSON('/users/me');
  } catch (e) {
    signInView(e instanceof ApiError && e.status !== 401 ? e.message : '');
    return;
  }
  bar.hidden = false;
  bar.querySelector('.who').textContent = `${session.user.username}${session.user.role === 'admin' ? ' (admin)' : ''}`;
  bar.querySelector('[data-nav=users]').hidden = session.user.role !== 'admin';
  if (!location.hash || location.hash === '#/') location.replace('#/studies');
  else route();
}

const routes = [
  [/^#\/studies\/([0-9.]+)\/series\/([0-9.]+)$/, (m) => viewerView(main, m[1], m[2])],
  [/^#\/studies\/([0-9.]+)$/, (m) => studyView(main, m[1])],
  [/^#\/studies(\?.*)?$/, (m) => studiesView(main, new URLSearchParams((m[1] || '').slice(1)))],
  [/^#\/upload$/, () => uploadView(main)],
  [/^#\/account$/, () => accountView(main, session.user)],
  [/^#\/users$/, () => usersView(main, session.user)],
];

async function route() {
  if (!session.user) return;
  if (leaving) { leaving(); leaving = null; }
  const hash = location.hash || '#/studies';
  for (const [pattern, view] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    const section = hash.split(/[/?]/)[1];
    bar.querySelectorAll('[data-nav]').forEach((a) => {
      if (a.dataset.nav === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    try {
      leaving = (await view(match)) || null;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      replace(main, h('p', { class: 'error', role: 'alert' }, e.message || String(e)));
    }
    return;
  }
  location.replace('#/studies');
}

window.addEventListener('hashchange', route);
onSignedOut(() => { if (leaving) { leaving(); leaving = null; } signInView(); });
bar.querySelector('.sign-out').addEventListener('click', async () => {
  await signOut();
  toast('Signed out.');
});
window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason;
  if (reason instanceof ApiError) {
    event.preventDefault();
    if (reason.status !== 401) toast(reason.message, 'error');
  }
});

if (hasSession()) start(); else signInView();
