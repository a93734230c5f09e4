// Your account (change password) and, for admins, every account.
import { getJSON, sendJSON, signOut } from './api.js';
import { confirmDialog, field, h, replace, toast } from './dom.js';

export function accountView(main, user) {
  const current = field('Current password', { type: 'password', autocomplete: 'current-password', required: true });
  const next = field('New password', { type: 'password', autocomplete: 'new-password', required: true, minlength: 12 });
  const again = field('New password again', { type: 'password', autocomplete: 'new-password', required: true });
  const status = h('p', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'pw-title' },
    h('h2', { id: 'pw-title' }, 'Change your password'),
    h('p', { class: 'hint' }, 'At least 12 characters. Every session of yours signs in again afterwards.'),
    current.el, next.el, again.el, status, h('button', { type: 'submit', class: 'primary' }, 'Change password'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.textContent = '';
    if (next.input.value !== again.input.value) {
      status.textContent = 'The two new passwords differ.';
      return;
    }
    try {
      await sendJSON('/users/me/password', 'POST', { current_password: current.input.value, new_password: next.input.value });
      toast('Password changed: sign in with the new one.');
      await signOut();
    } catch (e) {
      status.textContent = e.message;
    }
  });
  replace(main,
    h('h1', {}, 'Account'),
    h('dl', { class: 'facts' }, h('dt', {}, 'Username'), h('dd', {}, user.username), h('dt', {}, 'Role'), h('dd', {}, user.role)),
    form);
}

export async function usersView(main, me) {
  if (me.role !== 'admin') {
    replace(main, h('p', { class: 'error' }, 'Only administrators manage accounts.'));
    return;
  }
  const body = h('tbody');
  const username = field('New username', { required: true, minlength: 3, maxlength: 64, autocomplete: 'off' });
  const password = field('Initial password', { type: 'password', required: true, minlength: 12, autocomplete: 'new-password' });
  const role = field('Role', { tag: 'select' });
  role.input.append(h('option', { value: 'user' }, 'user'), h('option', { value: 'admin' }, 'admin'));
  const status = h('p', { role: 'alert', class: 'error' });
  const form = h('form', { class: 'card row-form', 'aria-labelledby': 'new-user' },
    h('h2', { id: 'new-user' }, 'New account'), username.el, password.el, role.el, status,
    h('button', { type: 'submit', class: 'primary' }, 'Create account'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.textContent = '';
    try {
      await sendJSON('/users', 'POST', { username: username.input.value, password: password.input.value, role: role.input.value });
      toast(`Account ${username.input.value} created.`);
      form.reset();
      await load();
    } catch (e) { status.textContent = e.message; }
  });

  async function act(fn, done) {
    try { await fn(); toast(done); await load(); } catch (e) { toast(e.message, 'error'); }
  }

  function row(user) {
    const self = user.id === me.id;
    return h('tr', {},
      h('td', {}, user.username), h('td', {}, user.role), h('td', {}, user.is_active ? 'active' : 'disabled'),
      h('td', {}, user.last_login_at ? new Date(user.last_login_at).toLocaleString() : 'never'),
      h('td', { class: 'actions' },
        h('button', { type: 'button', disabled: self, 'aria-label': `${user.is_active ? 'Disable' : 'Enable'} ${user.username}`,
          onclick: () => act(() => sendJSON(`/users/${user.id}`, 'PATCH', { is_active: !user.is_active }), 'Account updated.') },
        user.is_active ? 'Disable' : 'Enable'),
        h('button', { type: 'button', disabled: self, 'aria-label': `Make ${user.username} ${user.role === 'admin' ? 'a user' : 'an admin'}`,
          onclick: () => act(() => sendJSON(`/users/${user.id}`, 'PATCH', { role: user.role === 'admin' ? 'user' : 'admin' }), 'Role changed.') },
        user.role === 'admin' ? 'Make user' : 'Make admin'),
        h('button', { type: 'button', class: 'danger', disabled: self, 'aria-label': `Delete ${user.username}`,
          onclick: async () => {
            if (await confirmDialog(`Delete the account ${user.username}? An account that owns files is disabled instead.`)) {
              act(() => sendJSON(`/users/${user.id}`, 'DELETE'), 'Account deleted (or disabled).');
            }
          } }, 'Delete')));
  }

  async function load() {
    const page = await getJSON('/users?limit=1000');
    replace(body, page.items.map(row));
  }

  replace(main, h('h1', {}, 'Users'),
    h('table', { class: 'list' }, h('caption', { class: 'sr-only' }, 'Accounts'),
      h('thead', {}, h('tr', {}, ['Username', 'Role', 'State', 'Last sign-in', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      body),
    form);
  await load();
}
