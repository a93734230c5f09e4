// A series' images: rendered frames (WADO-RS rendered, fetched with the token into blob: URLs), window presets
// and free windowing by dragging, a slider over the images and one over the frames, zoom to fit, and the
// neighbouring images fetched ahead so that scrolling through a long series does not wait on each one.
import { getJSON, request, sendJSON } from './api.js';
import { confirmDialog, h, replace, toast } from './dom.js';
import { TAG, path, value } from './dicom.js';
import { inspector } from './inspector.js';

const PRESETS = [
  ['default', 'As stored (file’s own window)', null],
  ['soft', 'Soft tissue 40 / 400', [40, 400]],
  ['lung', 'Lung −600 / 1500', [-600, 1500]],
  ['bone', 'Bone 400 / 1800', [400, 1800]],
  ['brain', 'Brain 40 / 80', [40, 80]],
  ['custom', 'Custom (drag on the image)', null],
];
const AHEAD = 6; // images fetched ahead in the scrolling direction
const BEHIND = 2;
const KEPT = 48; // rendered images kept as blob: URLs

async function allPages(url, pageSize = 500) {
  const items = [];
  for (let offset = 0; ; offset += pageSize) {
    const sep = url.includes('?') ? '&' : '?';
    const page = await getJSON(`${url}${sep}limit=${pageSize}&offset=${offset}`, { headers: { Accept: 'application/dicom+json' } });
    const list = Array.isArray(page) ? page : page.items;
    items.push(...list);
    if (list.length < pageSize) return items;
  }
}

// Rendered images by URL: a promise of a blob: URL each, the oldest revoked beyond KEPT.
class ImageCache {
  constructor() { this.entries = new Map(); }
  get(url) {
    let entry = this.entries.get(url);
    if (entry) {
      this.entries.delete(url);
      this.entries.set(url, entry);
      return entry;
    }
    entry = request(url, { headers: { Accept: 'image/jpeg' } }).then((r) => r.blob()).then((b) => URL.createObjectURL(b));
    entry.catch(() => this.entries.delete(url));
    this.entries.set(url, entry);
    while (this.entries.size > KEPT) {
      const [oldest, promise] = this.entries.entries().next().value;
      this.entries.delete(oldest);
      promise.then((u) => URL.revokeObjectURL(u), () => {});
    }
    return entry;
  }
  has(url) { return this.entries.has(url); }
  clear() {
    for (const promise of this.entries.values()) promise.then((u) => URL.revokeObjectURL(u), () => {});
    this.entries.clear();
  }
}

// The SVG filter that previews a new window on the image rendered with another, while dragging: output is
// linear in the stored value for both, so the new one is a slope and an intercept of the old (PS3.3 C.11.2.1.2).
function windowFilter() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'filters');
  svg.setAttribute('aria-hidden', 'true');
  const filter = document.createElementNS(ns, 'filter');
  filter.id = 'window-preview';
  filter.setAttribute('color-interpolation-filters', 'sRGB');
  const transfer = document.createElementNS(ns, 'feComponentTransfer');
  const funcs = ['feFuncR', 'feFuncG', 'feFuncB'].map((name) => {
    const f = document.createElementNS(ns, name);
    f.setAttribute('type', 'linear');
    transfer.append(f);
    return f;
  });
  filter.append(transfer);
  svg.append(filter);
  return { svg, set(slope, intercept) { funcs.forEach((f) => { f.setAttribute('slope', slope); f.setAttribute('intercept', intercept); }); } };
}

function initialWindow(attrs) {
  const first = (tag) => { const v = attrs[tag] && attrs[tag].Value; return v && v.length ? Number(v[0]) : NaN; };
  const c = first(TAG.WindowCenter); const w = first(TAG.WindowWidth);
  if (Number.isFinite(c) && Number.isFinite(w) && w > 0) return [c, w];
  const bits = first(TAG.BitsStored) || 8; const signed = first(TAG.PixelRepresentation) === 1;
  const slope = first(TAG.RescaleSlope) || 1; const intercept = first(TAG.RescaleIntercept) || 0;
  const low = signed ? -(2 ** (bits - 1)) : 0; const high = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const a = low * slope + intercept; const b = high * slope + intercept;
  return [(a + b) / 2, Math.max(1, Math.abs(b - a))];
}

export async function viewerView(main, study, series) {
  const base = `/dicomweb/studies/${path(study)}/series/${path(series)}`;
  const [instances, files] = await Promise.all([
    allPages(`${base}/instances?includefield=NumberOfFrames&includefield=InstanceNumber`),
    allPages(`/files?study_instance_uid=${encodeURIComponent(study)}&series_instance_uid=${encodeURIComponent(series)}`, 1000),
  ]);
  const fileOf = new Map();
  for (const file of files) if (!fileOf.has(file.sop_instance_uid)) fileOf.set(file.sop_instance_uid, file.file_id);
  instances.sort((a, b) => (Number(value(a, TAG.InstanceNumber)) || 0) - (Number(value(b, TAG.InstanceNumber)) || 0)
    || String(value(a, TAG.SOPInstanceUID)).localeCompare(String(value(b, TAG.SOPInstanceUID))));
  if (!instances.length) {
    replace(main, h('p', { class: 'empty' }, 'This series has no images left.'), h('a', { href: `#/studies/${path(study)}` }, 'Back to the study'));
    return null;
  }

  const cache = new ImageCache();
  const attributes = new Map(); // file id -> promise of its DICOM JSON
  const state = { index: 0, frame: 1, window: null, fit: true, shown: null, direction: 1 };
  const filter = windowFilter();
  const img = h('img', { class: 'frame', alt: '' });
  const stage = h('div', { class: 'stage fit', tabindex: 0, role: 'img', 'aria-roledescription': 'image viewer',
    'aria-label': 'Image. Arrow keys up and down: previous and next image; left and right: frames. Drag to change the window.' }, img);
  const status = h('p', { class: 'status', 'aria-live': 'polite' });
  const preset = h('select', { id: 'preset' }, PRESETS.map(([key, label]) => h('option', { value: key }, label)));
  const imageSlider = h('input', { type: 'range', id: 'image-slider', min: 1, max: instances.length, value: 1 });
  const frameSlider = h('input', { type: 'range', id: 'frame-slider', min: 1, max: 1, value: 1 });
  const frameField = h('div', { class: 'field' }, h('label', { for: 'frame-slider' }, 'Frame'), frameSlider);
  const fitButton = h('button', { type: 'button', 'aria-pressed': 'true' }, 'Zoom to fit');
  const panel = h('aside', { class: 'inspector', hidden: true, 'aria-label': 'Header' });
  const current = () => instances[state.index];
  const sop = (item = current()) => value(item, TAG.SOPInstanceUID);
  const frames = (item = current()) => Number(value(item, TAG.NumberOfFrames)) || 1;
  const fileId = () => fileOf.get(sop());

  function url(index, frame, window) {
    const query = window ? `?window=${encodeURIComponent(`${+window[0].toFixed(2)},${+window[1].toFixed(2)}`)}` : '';
    return `${base}/instances/${path(sop(instances[index]))}/frames/${frame}/rendered${query}`;
  }

  function header(id) {
    if (!attributes.has(id)) {
      const promise = getJSON(`/files/${id}/attributes`);
      promise.catch(() => attributes.delete(id));
      attributes.set(id, promise);
    }
    return attributes.get(id);
  }

  function prefetch() {
    const order = [];
    for (let k = 1; k <= AHEAD; k += 1) order.push(state.index + k * state.direction);
    for (let k = 1; k <= BEHIND; k += 1) order.push(state.index - k * state.direction);
    for (const i of order) if (i >= 0 && i < instances.length) cache.get(url(i, 1, state.window));
  }

  let showing = 0;
  async function show() {
    const ticket = ++showing;
    const started = performance.now();
    const target = url(state.index, state.frame, state.window);
    const wasCached = cache.has(target);
    status.textContent = `Image ${state.index + 1} of ${instances.length}` + (frames() > 1 ? `, frame ${state.frame} of ${frames()}` : '')
      + (state.window ? ` · window ${Math.round(state.window[0])} / ${Math.round(state.window[1])}` : '');
    try {
      const src = await cache.get(target);
      if (ticket !== showing) return;
      img.src = src;
      img.style.filter = '';
      img.alt = `Image ${state.index + 1} of ${instances.length}`;
      state.shown = { window: state.window };
      img.dataset.window = state.window ? state.window.map((v) => +v.toFixed(2)).join(',') : 'default';
      img.dataset.index = String(state.index + 1);
      performance.mark('image-shown', { detail: { index: state.index, ms: performance.now() - started, cached: wasCached } });
    } catch (e) {
      if (ticket === showing) status.textContent = `Image ${state.index + 1}: ${e.message}`;
    }
    prefetch();
  }

  function go(index, frame = 1) {
    index = Math.max(0, Math.min(instances.length - 1, index));
    state.direction = index < state.index ? -1 : 1;
    state.index = index;
    state.frame = Math.max(1, Math.min(frames(), frame));
    imageSlider.value = String(index + 1);
    frameSlider.max = String(frames());
    frameSlider.value = String(state.frame);
    frameField.hidden = frames() < 2;
    show();
    if (!panel.hidden) openInspector();
  }

  function setWindow(window, key) {
    state.window = window;
    preset.value = key;
    show();
  }

  preset.addEventListener('change', () => {
    const chosen = PRESETS.find(([key]) => key === preset.value);
    if (chosen[0] === 'custom') return;
    setWindow(chosen[2], chosen[0]);
  });
  imageSlider.addEventListener('input', () => go(Number(imageSlider.value) - 1));
  frameSlider.addEventListener('input', () => { state.frame = Number(frameSlider.value); show(); });
  fitButton.addEventListener('click', () => {
    state.fit = !state.fit;
    stage.classList.toggle('fit', state.fit);
    fitButton.setAttribute('aria-pressed', String(state.fit));
    fitButton.textContent = state.fit ? 'Zoom to fit' : 'Actual size';
  });
  stage.addEventListener('keydown', (event) => {
    const moves = { ArrowDown: [1, 0], ArrowUp: [-1, 0], PageDown: [10, 0], PageUp: [-10, 0], ArrowRight: [0, 1], ArrowLeft: [0, -1] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    if (move[0]) go(state.index + move[0]); else { state.frame = Math.max(1, Math.min(frames(), state.frame + move[1])); frameSlider.value = String(state.frame); show(); }
  });
  stage.addEventListener('wheel', (event) => { event.preventDefault(); go(state.index + Math.sign(event.deltaY)); }, { passive: false });

  // Free windowing: horizontal drag widens or narrows the window, vertical moves its centre.
  let drag = null;
  stage.addEventListener('pointerdown', async (event) => {
    if (event.button !== 0) return;
    stage.setPointerCapture(event.pointerId);
    const from = state.window || (fileId() ? initialWindow(await header(fileId())) : [128, 256]);
    drag = { x: event.clientX, y: event.clientY, from, shown: state.shown && state.shown.window ? state.shown.window : from, to: from };
  });
  stage.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const scale = Math.max(drag.from[1] / 300, 0.5);
    const w = Math.max(1, drag.from[1] + (event.clientX - drag.x) * scale);
    const c = drag.from[0] - (event.clientY - drag.y) * scale;
    drag.to = [c, w];
    const [c0, w0] = drag.shown;
    filter.set(w0 / w, (c0 - c) / w + 0.5 - (0.5 * w0) / w);
    img.style.filter = 'url(#window-preview)';
    status.textContent = `Window ${Math.round(c)} / ${Math.round(w)} (release to render)`;
  });
  const endDrag = () => {
    if (!drag) return;
    const moved = drag.to !== drag.from;
    const to = drag.to;
    drag = null;
    if (moved) setWindow(to, 'custom');
  };
  stage.addEventListener('pointerup', endDrag);
  stage.addEventListener('pointercancel', endDrag);

  async function openInspector() {
    panel.hidden = false;
    const id = fileId();
    if (!id) { replace(panel, h('p', {}, 'No stored file for this image.')); return; }
    replace(panel, h('p', {}, 'Reading the header…'));
    inspector(panel, await header(id), `Header of image ${state.index + 1}`);
  }

  async function download() {
    const id = fileId();
    const response = await request(`/files/${id}/dicom`);
    const link = h('a', { href: URL.createObjectURL(await response.blob()), download: `${id}.dcm` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }

  async function deidentify() {
    if (!(await confirmDialog('Store a de-identified copy of this image (PS3.15 Basic Profile)? It becomes a new study under new UIDs; the original stays.', 'De-identify'))) return;
    try {
      const made = await sendJSON(`/files/${fileId()}/deidentify`, 'POST', {});
      toast(`De-identified copy stored (file ${made.file_id}). Find it in Studies.`);
    } catch (e) { toast(`Not de-identified: ${e.message}`, 'error'); }
  }

  async function deleteImage() {
    if (!(await confirmDialog(`Delete image ${state.index + 1} of this series? This cannot be undone.`, 'Delete image'))) return;
    await request(`${base}/instances/${path(sop())}`, { method: 'DELETE' });
    toast('Image deleted.');
    instances.splice(state.index, 1);
    cache.clear();
    if (!instances.length) { location.hash = `#/studies/${path(study)}`; return; }
    imageSlider.max = String(instances.length);
    go(Math.min(state.index, instances.length - 1));
  }

  async function deleteSeries() {
    if (!(await confirmDialog(`Delete this series (${instances.length} image(s))? This cannot be undone.`, 'Delete series'))) return;
    await request(base, { method: 'DELETE' });
    toast('Series deleted.');
    location.hash = `#/studies/${path(study)}`;
  }

  const headerButton = h('button', { type: 'button', 'aria-expanded': 'false' }, 'Header');
  headerButton.addEventListener('click', () => {
    if (panel.hidden) { openInspector(); headerButton.setAttribute('aria-expanded', 'true'); } else { panel.hidden = true; headerButton.setAttribute('aria-expanded', 'false'); }
  });
  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/studies' }, 'Studies'), ' › ', h('a', { href: `#/studies/${path(study)}` }, 'Study'), ' › Series'),
    h('div', { class: 'viewer' },
      h('div', { class: 'tools', role: 'toolbar', 'aria-label': 'Image tools' },
        h('div', { class: 'field' }, h('label', { for: 'preset' }, 'Window'), preset),
        h('div', { class: 'field' }, h('label', { for: 'image-slider' }, 'Image'), imageSlider),
        frameField, fitButton, headerButton,
        h('button', { type: 'button', onclick: download }, 'Download original'),
        h('button', { type: 'button', onclick: deidentify }, 'De-identify'),
        h('button', { type: 'button', class: 'danger', onclick: deleteImage }, 'Delete image'),
        h('button', { type: 'button', class: 'danger', onclick: deleteSeries }, 'Delete series')),
      stage, status, panel),
    filter.svg);
  go(0);
  stage.focus();
  return () => cache.clear();
}
