// Upload: files or whole folders, dropped or chosen. Each batch: SHA-256 of every file in the browser, one
// POST /files/lookup to skip what is stored already, then POST /upload/dicom per file (a few at a time),
// with a progress bar and a summary of what was stored, already there, or refused and why.
import { ApiError, request, sendJSON } from './api.js';
import { formatBytes, h, replace } from './dom.js';

const PARALLEL = 3;
const LOOKUP_BATCH = 1000; // the route's limit per call
const HASH_LIMIT = 1024 ** 3; // larger files are sent without asking (the whole file is read to hash it)

// Every file under a dropped entry, folders walked (readEntries answers in chunks until it answers none).
async function walk(entry, prefix = '') {
  if (entry.isFile) return [await new Promise((resolve, reject) => entry.file((f) => resolve({ file: f, path: prefix + f.name }), reject))];
  if (!entry.isDirectory) return [];
  const reader = entry.createReader();
  const found = [];
  for (;;) {
    const chunk = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!chunk.length) break;
    for (const child of chunk) found.push(...(await walk(child, `${prefix}${entry.name}/`)));
  }
  return found;
}

async function sha256(file) {
  if (!globalThis.crypto || !crypto.subtle || file.size > HASH_LIMIT) return null; // not a secure context, or huge
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function uploadView(main) {
  // The inputs are hidden; buttons open them, so that the keyboard reaches something visible.
  const fileInput = h('input', { type: 'file', id: 'pick-files', multiple: true, hidden: true });
  const folderInput = h('input', { type: 'file', id: 'pick-folder', webkitdirectory: true, multiple: true, hidden: true });
  const zone = h('div', { class: 'drop', role: 'region', 'aria-label': 'Drop zone for DICOM files and folders' },
    h('p', {}, 'Drop DICOM files or whole folders here'),
    h('p', { class: 'row' },
      h('button', { type: 'button', onclick: () => fileInput.click() }, 'Choose files…'),
      h('button', { type: 'button', onclick: () => folderInput.click() }, 'Choose a folder…')),
    fileInput, folderInput);
  const batches = h('div', { class: 'batches' });
  replace(main, h('h1', {}, 'Upload'),
    h('p', { class: 'hint' }, 'Files that are not DICOM are refused with the reason; files you have stored already are not sent again.'),
    zone, batches);

  const enter = (event) => { event.preventDefault(); zone.classList.add('over'); };
  zone.addEventListener('dragenter', enter);
  zone.addEventListener('dragover', enter);
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', async (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const entries = Array.from(event.dataTransfer.items || []).map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
    const files = entries.length
      ? (await Promise.all(entries.map((entry) => walk(entry)))).flat()
      : Array.from(event.dataTransfer.files, (f) => ({ file: f, path: f.name }));
    batch(batches, files);
  });
  for (const input of [fileInput, folderInput]) {
    input.addEventListener('change', () => {
      batch(batches, Array.from(input.files, (f) => ({ file: f, path: f.webkitRelativePath || f.name })));
      input.value = '';
    });
  }
}

async function batch(container, files) {
  if (!files.length) return;
  const total = files.reduce((n, f) => n + f.file.size, 0);
  const bar = h('progress', { max: total || 1, value: 0, 'aria-label': 'Upload progress' });
  const line = h('p', { class: 'status', 'aria-live': 'polite' }, `Checking ${files.length} file(s)…`);
  const summary = h('div', { class: 'summary' });
  const card = h('section', { class: 'card batch', 'aria-label': `Batch of ${files.length} file(s)` },
    h('h2', {}, `${files.length} file(s), ${formatBytes(total)}`), bar, line, summary);
  container.prepend(card);

  const outcome = { stored: [], already: [], refused: [] };
  let done = 0;
  const advance = (item) => { done += item.file.size; bar.value = done; };

  // What is stored already, by checksum.
  const hashes = [];
  for (const item of files) hashes.push(await sha256(item.file));
  const known = new Set();
  const asked = [...new Set(hashes.filter(Boolean))];
  for (let i = 0; i < asked.length; i += LOOKUP_BATCH) {
    try {
      const answer = await sendJSON('/files/lookup', 'POST', { sha256: asked.slice(i, i + LOOKUP_BATCH) });
      answer.stored.forEach((s) => known.add(s));
    } catch { /* an older server: send them all */ }
  }
  const queue = [];
  files.forEach((item, i) => {
    if (hashes[i] && known.has(hashes[i])) { outcome.already.push(item.path); advance(item); } else queue.push(item);
  });

  line.textContent = `Sending ${queue.length} file(s)…`;
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const form = new FormData();
      form.append('file', item.file, item.file.name);
      try {
        await request('/upload/dicom', { method: 'POST', body: form });
        outcome.stored.push(item.path);
      } catch (e) {
        outcome.refused.push([item.path, e instanceof ApiError ? e.message : 'The server could not be reached.']);
      }
      advance(item);
      line.textContent = `${outcome.stored.length} stored, ${outcome.already.length} already there, ${outcome.refused.length} refused`;
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  bar.value = total || 1;
  line.textContent = `Done: ${outcome.stored.length} stored, ${outcome.already.length} already there, ${outcome.refused.length} refused.`;
  replace(summary,
    h('ul', { class: 'counts' },
      h('li', { class: 'ok', dataset: { count: 'stored' } }, `Stored: ${outcome.stored.length}`),
      h('li', { dataset: { count: 'already' } }, `Already there: ${outcome.already.length}`),
      h('li', { class: outcome.refused.length ? 'bad' : '', dataset: { count: 'refused' } }, `Refused: ${outcome.refused.length}`)),
    outcome.refused.length ? h('details', { open: true }, h('summary', {}, 'Refused files and why'),
      h('ul', { class: 'refused' }, outcome.refused.map(([name, why]) => h('li', {}, h('code', {}, name), ': ', why)))) : null,
    outcome.stored.length ? h('p', {}, h('a', { href: '#/studies' }, 'See the studies')) : null);
}
