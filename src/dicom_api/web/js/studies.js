// The study browser (QIDO-RS, paged) and a study's series with lazily loaded thumbnails.
import { feature, getJSON, handOver, imageURL, request, sendJSON } from './api.js';
import { confirmDialog, field, h, replace, toast } from './dom.js';
import { TAG, date, path, value, values } from './dicom.js';

const PAGE = 25;
// Series of documents and references, not images: no thumbnail is asked for (it could only be refused).
const NO_PIXELS = new Set(['SR', 'KO', 'PR', 'DOC', 'REG', 'SEG', 'RTSTRUCT', 'RTPLAN']);

function dicomDate(text) { return text ? text.replaceAll('-', '') : ''; }

export async function studiesView(main, params) {
  const name = field('Patient name', { name: 'name', value: params.get('name') || '', autocomplete: 'off' });
  const id = field('Patient ID', { name: 'id', value: params.get('id') || '', autocomplete: 'off' });
  const from = field('Study date from', { name: 'from', type: 'date', value: params.get('from') || '' });
  const to = field('Study date to', { name: 'to', type: 'date', value: params.get('to') || '' });
  const modality = field('Modality', { name: 'modality', value: params.get('modality') || '', maxlength: 16,
    autocomplete: 'off', placeholder: 'CT, MR…' });
  const offset = Math.max(0, Number.parseInt(params.get('offset') || '0', 10) || 0);
  const form = h('form', { class: 'search', role: 'search', 'aria-label': 'Find studies' },
    name.el, id.el, from.el, to.el, modality.el, h('button', { type: 'submit', class: 'primary' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, f] of Object.entries({ name, id, from, to, modality })) if (f.input.value.trim()) next.set(key, f.input.value.trim());
    location.hash = `#/studies?${next}`;
  });
  const results = h('div', { class: 'results', 'aria-live': 'polite', 'aria-busy': 'true' }, 'Searching…');
  replace(main, h('h1', {}, 'Studies'), form, results);

  const query = new URLSearchParams({ limit: String(PAGE + 1), offset: String(offset),
    includefield: 'StudyDescription' });
  const nameText = name.input.value.trim();
  if (nameText) query.set('PatientName', /[*?]/.test(nameText) ? nameText : `${nameText}*`);
  if (id.input.value.trim()) query.set('PatientID', id.input.value.trim());
  if (from.input.value || to.input.value) query.set('StudyDate', `${dicomDate(from.input.value)}-${dicomDate(to.input.value)}`);
  if (modality.input.value.trim()) query.set('ModalitiesInStudy', modality.input.value.trim().toUpperCase());
  const started = performance.now();
  const studies = await getJSON(`/dicomweb/studies?${query}`, { headers: { Accept: 'application/dicom+json' } });
  const more = studies.length > PAGE;
  const shown = studies.slice(0, PAGE);
  performance.mark('studies-listed', { detail: { ms: performance.now() - started, count: shown.length } });
  results.setAttribute('aria-busy', 'false');
  if (!shown.length) {
    replace(results, h('p', { class: 'empty' }, offset ? 'No more studies.' : 'No study matches. Upload some with Upload.'));
    return;
  }
  const pageLink = (to, label) => {
    const next = new URLSearchParams(params);
    next.set('offset', String(to));
    return h('a', { class: 'button', href: `#/studies?${next}` }, label);
  };
  replace(results,
    h('table', { class: 'list studies' },
      h('caption', { class: 'sr-only' }, 'Matching studies'),
      h('thead', {}, h('tr', {}, ['Patient', 'Patient ID', 'Date', 'Description', 'Modalities', 'Series', 'Images']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, shown.map((study) => {
        const uid = value(study, TAG.StudyInstanceUID);
        return h('tr', {},
          h('td', {}, h('a', { href: `#/studies/${path(uid)}` }, value(study, TAG.PatientName) || '(no name)')),
          h('td', {}, value(study, TAG.PatientID)), h('td', {}, date(value(study, TAG.StudyDate))),
          h('td', {}, value(study, TAG.StudyDescription)), h('td', {}, values(study, TAG.ModalitiesInStudy).join(', ')),
          h('td', { class: 'num' }, value(study, TAG.StudySeries)), h('td', { class: 'num' }, value(study, TAG.StudyInstances)));
      }))),
    h('nav', { class: 'pager', 'aria-label': 'Pages' },
      offset > 0 ? pageLink(Math.max(0, offset - PAGE), 'Previous page') : null,
      h('span', {}, `Studies ${offset + 1}–${offset + shown.length}`),
      more ? pageLink(offset + PAGE, 'Next page') : null));
}

// Thumbnails load when they scroll into view, through fetch (the token) into blob: URLs revoked on leaving.
function lazyImages(root) {
  const urls = [];
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      const img = entry.target;
      imageURL(img.dataset.src, { headers: { Accept: 'image/jpeg' } }).then((url) => {
        urls.push(url);
        img.src = url;
      }).catch(() => { img.alt = 'No preview'; img.classList.add('missing'); });
    }
  }, { root: null, rootMargin: '200px' });
  root.querySelectorAll('img[data-src]').forEach((img) => observer.observe(img));
  return () => { observer.disconnect(); urls.forEach((url) => URL.revokeObjectURL(url)); };
}

export async function studyView(main, study) {
  const [series, studies] = await Promise.all([
    getJSON(`/dicomweb/studies/${path(study)}/series?includefield=SeriesDescription`, { headers: { Accept: 'application/dicom+json' } }),
    getJSON(`/dicomweb/studies?StudyInstanceUID=${encodeURIComponent(study)}&includefield=StudyDescription`,
      { headers: { Accept: 'application/dicom+json' } }),
  ]);
  const about = studies[0] || {};
  series.sort((a, b) => (Number(value(a, TAG.SeriesNumber)) || 0) - (Number(value(b, TAG.SeriesNumber)) || 0));
  const actions = h('div', { class: 'row actions' },
    h('button', { type: 'button', class: 'danger', onclick: () => deleteStudy(study) }, 'Delete study'));
  if (await feature('ohif')) {
    actions.prepend(h('button', { type: 'button', onclick: async () => {
      await handOver();
      window.open(`/ohif/viewer?StudyInstanceUIDs=${encodeURIComponent(study)}`, '_blank');
    } }, 'Open in OHIF'));
  }
  if (await feature('share')) actions.prepend(h('button', { type: 'button', onclick: () => share(study) }, 'Share'));
  const grid = h('ul', { class: 'series-grid' }, series.map((item) => {
    const uid = value(item, TAG.SeriesInstanceUID);
    const label = `${value(item, TAG.Modality)} ${value(item, TAG.SeriesNumber) || ''} ${value(item, TAG.SeriesDescription) || ''}`.trim();
    const picture = NO_PIXELS.has(value(item, TAG.Modality))
      ? h('span', { class: 'no-image' }, value(item, TAG.Modality))
      : h('img', { alt: '', width: 128, height: 128, 'data-src': `/dicomweb/studies/${path(study, 'series', uid)}/thumbnail` });
    return h('li', {}, h('a', { href: `#/studies/${path(study)}/series/${path(uid)}`, class: 'series-card' },
      picture,
      h('span', { class: 'title' }, label || 'Series'),
      h('span', { class: 'hint' }, `${value(item, TAG.SeriesInstances) || '?'} image(s)`)));
  }));
  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/studies' }, 'Studies'), ' › ', value(about, TAG.PatientName) || 'Study'),
    h('h1', {}, value(about, TAG.StudyDescription) || 'Study'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Patient'), h('dd', {}, `${value(about, TAG.PatientName)} (${value(about, TAG.PatientID)})`),
      h('dt', {}, 'Date'), h('dd', {}, date(value(about, TAG.StudyDate))),
      h('dt', {}, 'Accession'), h('dd', {}, value(about, TAG.AccessionNumber) || '—')),
    actions, h('h2', {}, `Series (${series.length})`), grid);
  return lazyImages(grid);
}

async function deleteStudy(study) {
  if (!(await confirmDialog('Delete this whole study, every series and image of it? This cannot be undone.', 'Delete study'))) return;
  await request(`/dicomweb/studies/${path(study)}`, { method: 'DELETE' });
  toast('Study deleted.');
  location.hash = '#/studies';
}

// A share link (POST /shares): read-only, expiring, optionally de-identified and behind a passcode.
async function share(study) {
  const days = field('Valid for (days)', { type: 'number', min: 1, max: 365, value: 7, required: true });
  const passcode = field('Passcode (optional, 8 characters or more)', { type: 'password', autocomplete: 'new-password', minlength: 8 });
  const deid = h('input', { type: 'checkbox', id: 'share-deid' });
  const output = h('div', { class: 'share-url', 'aria-live': 'polite' });
  const form = h('form', { method: 'dialog' },
    h('h2', { id: 'share-title' }, 'Share this study'),
    h('p', { class: 'hint' }, 'A read-only link that expires; you can revoke it. The link is shown once.'),
    days.el, passcode.el, h('p', {}, deid, ' ', h('label', { for: 'share-deid' }, 'Share a de-identified copy')), output,
    h('div', { class: 'row' },
      h('button', { type: 'submit', value: 'close' }, 'Close'),
      h('button', { type: 'button', class: 'primary', onclick: async () => {
        const body = { study_uid: study, expires_in: Math.round(Number(days.input.value) * 86400), deidentify: deid.checked };
        if (passcode.input.value) body.passcode = passcode.input.value;
        try {
          const made = await sendJSON('/shares', 'POST', body);
          replace(output, h('p', {}, 'Link (valid until ', new Date(made.expires_at).toLocaleString(), '):'),
            h('input', { type: 'text', readonly: true, value: made.url, 'aria-label': 'Share link', class: 'wide' }));
        } catch (e) { replace(output, h('p', { class: 'error' }, e.message)); }
      } }, 'Create link')));
  const dialog = h('dialog', { 'aria-labelledby': 'share-title' }, form);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
