// The header inspector: the DICOM JSON Model as a tree (sequences as nested items), searchable by tag
// ("0010,0010", "00100010") or keyword ("PatientName"), which the committed dictionary supplies.
import { h, replace } from './dom.js';

let dictionary = null;
async function keywords() {
  dictionary ||= import('./dictionary.js').then((m) => m.default);
  return dictionary;
}

function display(element) {
  if (!element.Value) {
    if (element.BulkDataURI) return '(bulk data)';
    if (element.InlineBinary !== undefined) return `(binary, ${Math.floor((element.InlineBinary.length * 3) / 4)} bytes)`;
    return element.vr === 'SQ' ? '(empty sequence)' : '(empty)';
  }
  return element.Value.map((v) => {
    if (v && typeof v === 'object') return v.Alphabetic ?? Object.values(v).join('=');
    return v === null ? '' : String(v);
  }).join(' \\ ');
}

const tagText = (tag) => `(${tag.slice(0, 4)},${tag.slice(4)})`;

function matches(tag, keyword, needle) {
  if (!needle) return true;
  const compact = needle.replace(/[(),\s]/g, '').toUpperCase();
  return tag.includes(compact) || (keyword && keyword.toUpperCase().includes(needle.toUpperCase()));
}

// A list of the data set's elements; a sequence's items nest inside it (as <details> when not searched).
function tree(dataset, words, needle) {
  const rows = [];
  for (const tag of Object.keys(dataset).sort()) {
    const element = dataset[tag];
    const keyword = words[tag] || (tag.slice(4) === '0000' ? 'GroupLength' : '');
    const items = element.vr === 'SQ' && element.Value ? element.Value : [];
    const children = items.map((item, i) => ({ i, list: tree(item, words, needle) })).filter((c) => c.list);
    const own = matches(tag, keyword, needle);
    if (!own && !children.length) continue;
    const label = [h('code', { class: 'tag' }, tagText(tag)), ' ', h('span', { class: 'kw' }, keyword || 'private / unknown'),
      ' ', h('span', { class: 'vr' }, element.vr)];
    if (element.vr !== 'SQ') {
      rows.push(h('li', { dataset: { tag } }, ...label, ' ', h('span', { class: 'val' }, display(element))));
      continue;
    }
    const nested = children.map((c) => h('li', {}, h('details', { open: true }, h('summary', {}, `Item ${c.i + 1}`), c.list)));
    rows.push(h('li', { dataset: { tag } },
      h('details', { open: Boolean(needle) }, h('summary', {}, ...label, ' ', h('span', { class: 'val' }, `${items.length} item(s)`)),
        h('ul', {}, nested))));
  }
  return rows.length ? h('ul', {}, rows) : null;
}

export async function inspector(panel, dataset, title) {
  const words = await keywords();
  const search = h('input', { type: 'search', id: 'header-search', placeholder: 'Tag or keyword, e.g. 0010,0010 or PatientName', autocomplete: 'off' });
  const body = h('div', { class: 'tree' });
  const render = () => replace(body, tree(dataset, words, search.value.trim()) || h('p', { class: 'empty' }, 'No attribute matches.'));
  search.addEventListener('input', render);
  replace(panel, h('h2', {}, title), h('div', { class: 'field' }, h('label', { for: 'header-search' }, 'Search the header'), search), body);
  render();
}
