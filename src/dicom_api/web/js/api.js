// The API client: tokens kept as a browser app should keep them. The access token lives in memory only; the
// refresh token in sessionStorage (this tab, gone when it closes) so that a reload stays signed in. Neither is
// ever put in a URL, and the page logs nothing.

const REFRESH_KEY = 'dicom-api-refresh';
const EARLY = 30_000; // refresh this long before the access token expires

let access = null;
let expiresAt = 0;
let pending = null; // one refresh at a time, shared by every caller
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function onSignedOut(listener) { listeners.add(listener); }

function keep(tokens) {
  access = tokens.access_token;
  expiresAt = Date.now() + tokens.expires_in * 1000;
  sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
}

function forget() {
  access = null;
  expiresAt = 0;
  sessionStorage.removeItem(REFRESH_KEY);
  sessionStorage.removeItem('dicom-api-token');
}

export function hasSession() { return Boolean(access || sessionStorage.getItem(REFRESH_KEY)); }

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.error === 'string') message = body.error;
  } catch { /* not JSON: keep the status line */ }
  return new ApiError(response.status, message);
}

export async function signIn(username, password) {
  const body = new URLSearchParams({ username, password });
  const response = await fetch('/auth/token', { method: 'POST', body });
  if (!response.ok) throw await errorOf(response);
  keep(await response.json());
}

async function refresh() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) throw new ApiError(401, 'Signed out.');
  const response = await fetch('/auth/refresh', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: token }),
  });
  if (!response.ok) {
    forget();
    throw await errorOf(response);
  }
  keep(await response.json());
}

async function accessToken(force = false) {
  if (access && !force && Date.now() < expiresAt - EARLY) return access;
  pending ||= refresh().finally(() => { pending = null; });
  await pending;
  return access;
}

export async function signOut() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  forget();
  if (token) {
    await fetch('/auth/logout', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: token }),
    }).catch(() => {});
  }
  listeners.forEach((listener) => listener());
}

// fetch() with the bearer token; one retry with a fresh token after a 401. Errors are ApiErrors carrying the
// server's own {"error": ...} message.
export async function request(path, options = {}) {
  const send = async (token) => {
    const headers = new Headers(options.headers || {});
    headers.set('Authorization', `Bearer ${token}`);
    return fetch(path, { ...options, headers });
  };
  let response;
  try {
    response = await send(await accessToken());
    if (response.status === 401) response = await send(await accessToken(true));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forget();
      listeners.forEach((listener) => listener());
    }
    throw error;
  }
  if (response.status === 401) {
    forget();
    listeners.forEach((listener) => listener());
  }
  if (!response.ok && response.status !== 304) throw await errorOf(response);
  return response;
}

export async function getJSON(path, options) {
  const response = await request(path, options);
  return response.status === 204 ? null : response.json();
}

export async function sendJSON(path, method, body) {
  const response = await request(path, {
    method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.status === 204 ? null : response.json();
}

// An image fetched with the token, as a blob: URL the caller revokes when done.
export async function imageURL(path, options = {}) {
  const response = await request(path, options);
  return URL.createObjectURL(await response.blob());
}

// The current access token for a same-origin viewer (OHIF at /ohif/) that reads it from sessionStorage.
export async function handOver() {
  sessionStorage.setItem('dicom-api-token', await accessToken());
}

// What this server offers beyond the core (OHIF installed, share links), read once.
let features = null;
export function feature(name) {
  features ||= fetch('/ui/features.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  return features.then((known) => Boolean(known[name]));
}
