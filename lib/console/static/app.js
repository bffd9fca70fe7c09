// lup console: the page. No framework and no build step: DOM calls only (text is always set with
// textContent, never parsed as HTML), and every request carries the token the server put in the page.
const token = document.querySelector('meta[name="lup-console-token"]').content;
// The token is in a cookie and the page now; drop it from the address bar and the history.
if (location.search.includes('token=')) history.replaceState(null, '', `/${location.hash}`);

const $ = (id) => document.getElementById(id);
const state = { meta: undefined, game: undefined, channel: undefined, channels: [], tags: {}, renders: { channels: 0, uploads: 0 } };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
}

const svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
};

class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.error = error;
  }
}

/** GET or POST the API; with `tag`, a 304 resolves to undefined (nothing changed). */
async function api(path, { method = 'GET', body, tagKey } = {}) {
  const headers = { 'x-lup-console-token': token };
  if (tagKey && state.tags[tagKey]) headers['if-none-match'] = state.tags[tagKey];
  if (body) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined, cache: 'no-store', credentials: 'same-origin' });
  if (response.status === 304) return undefined;
  const json = await response.json();
  if (!response.ok) throw new ApiError(response.status, json.error);
  if (tagKey) state.tags[tagKey] = response.headers.get('etag') ?? undefined;
  return json;
}

const enc = encodeURIComponent;

function formatBytes(bytes) {
  if (bytes === undefined) return 'unknown';
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 'bytes';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit === 'bytes' ? `${bytes} bytes` : `${value.toFixed(1)} ${unit} (${bytes} bytes)`;
}

function when(iso) {
  const date = new Date(iso);
  return el('time', { datetime: iso, title: iso, text: date.toLocaleString() });
}

function announce(text) {
  $('live').textContent = text;
}

// ---- games ---------------------------------------------------------------------------------

async function loadGames() {
  const { games } = await api('/api/games');
  const list = $('games');
  // Re-render only when the list changed, so keyboard focus stays where it is.
  if (list.dataset.games === games.join(',')) return;
  list.dataset.games = games.join(',');
  list.replaceChildren(...games.map((game) => el('li', {}, el('button', {
    type: 'button', 'aria-current': game === state.game ? 'true' : 'false', 'data-game': game, text: game,
    onclick: () => selectGame(game),
  }))));
  if (games.length === 0) list.replaceChildren(el('li', { class: 'muted', text: 'No games yet: publish with lup publish.' }));
  if (!state.game && games.length > 0) await selectGame(parseHash().game && games.includes(parseHash().game) ? parseHash().game : games[0]);
}

function parseHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { game: params.get('game') ?? undefined, channel: params.get('channel') ?? undefined };
}

async function selectGame(game) {
  state.game = game;
  state.channel = parseHash().game === game ? parseHash().channel : undefined;
  state.tags = {};
  for (const b of document.querySelectorAll('#games button')) b.setAttribute('aria-current', b.dataset.game === game ? 'true' : 'false');
  $('game-name').textContent = `of ${game}`;
  await refresh();
}

// ---- channels ------------------------------------------------------------------------------

function rolloutBlock(rollout) {
  if (!rollout) return undefined;
  const share = rollout.share;  // basis points (0-10,000), as the pointer schema defines it
  const rows = Object.entries(rollout).filter(([, v]) => typeof v !== 'object').map(([k, v]) => el('div', {}, el('strong', { text: `${k}: ` }), String(v)));
  return el('div', { class: 'rollout', role: 'group', 'aria-label': 'Rollout in progress' },
    el('strong', { text: `Rollout${rollout.state ? ` ${rollout.state}` : ''}${share !== undefined ? ` at ${typeof share === 'number' ? `${share / 100} %` : share}` : ''}` }), rows);
}

function channelCard(c) {
  // Rollout actions act on a rollout in progress: offered only on a channel that has one.
  const actions = (state.meta?.actions ?? []).filter((action) => !action.name.startsWith('rollout-') || c.rollout).map((action) => el('button', {
    type: 'button', 'aria-label': `${action.label} ${c.channel}`, text: action.label,
    onclick: (event) => openAction(action, { channel: c.channel }, event.currentTarget),
  }));
  return el('article', { class: 'card', 'data-channel': c.channel, 'aria-labelledby': `channel-${c.channel}` },
    el('h3', { id: `channel-${c.channel}`, text: c.channel }),
    el('dl', {},
      el('dt', { text: 'Release' }), el('dd', { class: 'release-id' }, el('strong', { text: c.releaseId }), c.note ? ` — ${c.note}` : ''),
      el('dt', { text: 'Sequence' }), el('dd', { class: 'sequence', text: String(c.sequence) }),
      el('dt', { text: 'Since' }), el('dd', {}, when(c.publishedAt)),
      el('dt', { text: 'Cause' }), el('dd', {}, el('span', { class: `badge cause-${c.cause}`, text: c.cause })),
      el('dt', { text: 'Size' }), el('dd', { text: formatBytes(c.sizeBytes) }),
      el('dt', { text: 'Content' }), el('dd', { text: `${c.archiveCount} archive(s)${c.resourceCount ? `, ${c.resourceCount} loose resource(s)` : ''}${c.kind ? ` (${c.kind})` : ''}` }),
      el('dt', { text: 'Engines' }), el('dd', {}, c.engineVersions.length === 0 ? 'any' : c.engineVersions.map((v, i) => el('code', { title: v, text: `${i > 0 ? ', ' : ''}${v.slice(0, 10)}` }))),
    ),
    rolloutBlock(c.rollout),
    el('div', { class: 'actions' },
      el('button', { type: 'button', 'aria-label': `History of ${c.channel}`, text: 'History', onclick: () => { selectChannel(c.channel); $('history-title').scrollIntoView(); $('history-channel').focus(); } }),
      actions),
  );
}

function renderChannels(data) {
  state.renders.channels += 1;
  document.body.dataset.channelRenders = String(state.renders.channels);
  state.channels = data.channels;
  const box = $('channels');
  if (data.unavailable) box.replaceChildren(el('p', { class: 'muted', text: 'Channels are not readable with these credentials.' }));
  else if (data.channels.length === 0) box.replaceChildren(el('p', { class: 'muted', text: `Game ${state.game} has no released channel yet; publish with lup publish --game ${state.game} --channel <name>.` }));
  else box.replaceChildren(...data.channels.map(channelCard));
  const select = $('history-channel');
  select.replaceChildren(...data.channels.map((c) => el('option', { value: c.channel, text: c.channel })));
  if (!state.channel || !data.channels.some((c) => c.channel === state.channel)) state.channel = data.channels[0]?.channel;
  if (state.channel) select.value = state.channel;
}

// ---- history -------------------------------------------------------------------------------

function selectChannel(channel) {
  state.channel = channel;
  $('history-channel').value = channel;
  location.hash = `game=${enc(state.game)}&channel=${enc(channel)}`;
  loadHistory().catch(showError);
}

function sizeChart(flips) {
  const points = [...flips].reverse().filter((f) => f.sizeBytes !== undefined);
  if (points.length === 0) return el('p', { class: 'muted', text: 'No release sizes to chart.' });
  const width = 640;
  const height = 180;
  const pad = { left: 70, right: 10, top: 10, bottom: 28 };
  const max = Math.max(...points.map((p) => p.sizeBytes));
  const step = (width - pad.left - pad.right) / points.length;
  const bar = Math.max(4, Math.min(40, step * 0.7));
  const y = (v) => pad.top + (height - pad.top - pad.bottom) * (1 - v / max);
  const label = `Release sizes of ${points.length} flip(s): ${points.map((p) => `${p.releaseId} ${formatBytes(p.sizeBytes)}`).join('; ')}`;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label });
  chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom, stroke: '#4a4a4a' }));
  const axis = svg('text', { x: pad.left - 6, y: pad.top + 10, 'text-anchor': 'end', 'font-size': 11, fill: '#1a1a1a' });
  axis.textContent = formatBytes(max).split(' (')[0];
  chart.append(axis);
  points.forEach((p, i) => {
    const x = pad.left + i * step + (step - bar) / 2;
    const rect = svg('rect', { x, y: y(p.sizeBytes), width: bar, height: height - pad.bottom - y(p.sizeBytes), fill: p.current ? '#17622a' : '#0b5cad' });
    const title = svg('title');
    title.textContent = `#${p.sequence} ${p.releaseId} (${p.cause}): ${formatBytes(p.sizeBytes)}`;
    rect.append(title);
    const text = svg('text', { x: x + bar / 2, y: height - pad.bottom + 14, 'text-anchor': 'middle', 'font-size': 11, fill: '#1a1a1a' });
    text.textContent = `#${p.sequence}`;
    chart.append(rect, text);
  });
  return chart;
}

async function loadHistory() {
  if (!state.channel) {
    $('timeline').replaceChildren();
    $('chart').replaceChildren();
    return;
  }
  const { flips } = await api(`/api/games/${enc(state.game)}/channels/${enc(state.channel)}/history`);
  $('chart').replaceChildren(sizeChart(flips));
  $('timeline').replaceChildren(...flips.map((f) => el('li', { class: f.current ? 'current' : undefined, 'data-sequence': String(f.sequence) },
    el('strong', { text: `#${f.sequence} ` }),
    el('span', { class: `badge cause-${f.cause}`, text: f.cause }), ' ',
    el('a', { href: `/api/games/${enc(state.game)}/releases/${enc(f.releaseId)}`, target: '_blank', rel: 'noopener', text: f.releaseId, 'aria-label': `release record of ${f.releaseId}` }),
    f.current ? el('span', { text: ' (live)' }) : undefined,
    ' · ', when(f.at),
    f.sizeBytes !== undefined ? ` · ${formatBytes(f.sizeBytes)}` : '',
    f.note ? ` · ${f.note}` : '',
    f.reason ? el('div', { class: 'muted', text: `forced: ${f.reason}` }) : undefined,
  )));
}

// ---- uploads -------------------------------------------------------------------------------

function renderUploads(data) {
  state.renders.uploads += 1;
  const box = $('uploads');
  if (data.uploads.length === 0) {
    box.replaceChildren(el('p', { class: 'muted', text: 'No uploads yet.' }));
    return;
  }
  box.replaceChildren(el('table', {},
    el('caption', { class: 'visually-hidden', text: `Recent uploads of ${state.game}, newest first` }),
    el('thead', {}, el('tr', {}, ['Upload', 'State', 'Channel / release', 'Updated', 'Errors'].map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, data.uploads.map((u) => el('tr', { 'data-upload': u.upload },
      el('th', { scope: 'row', text: u.upload }),
      el('td', {}, el('span', { class: `badge state-${u.state}`, text: u.state })),
      el('td', { text: u.channel ? `${u.channel}${u.releaseId ? ` / ${u.releaseId}${u.sequence !== undefined ? ` (#${u.sequence})` : ''}` : ''}` : '—' }),
      el('td', {}, when(u.updatedAt)),
      el('td', {}, u.errors.length === 0 ? (u.lastEvent ?? '') : el('details', { open: u.state === 'refused' || u.state === 'failed' },
        el('summary', { text: `${u.errorCount} error(s): ${[...new Set(u.errors.map((e) => e.code))].join(', ')}` }),
        u.errors.map((e) => el('pre', { class: 'error', 'data-code': e.code, text: e.text })),
        u.errorCount > u.errors.length ? el('p', { class: 'muted', text: `… and ${u.errorCount - u.errors.length} more (lup status --game ${state.game} --upload ${u.upload})` }) : undefined,
      )),
    ))),
  ));
}

// ---- actions -------------------------------------------------------------------------------

let current;

async function preview() {
  const { action, params } = current;
  const summary = $('confirm-summary');
  try {
    const result = await api(`/api/actions/${enc(action.name)}/preview`, { method: 'POST', body: { game: state.game, ...params() } });
    summary.textContent = result.summary;
    $('confirm-error').hidden = true;
  } catch (error) {
    summary.textContent = '';
    showDialogError(error);
  }
}

function showDialogError(error) {
  const box = $('confirm-error');
  box.textContent = error.error?.text ?? error.message;
  box.hidden = false;
}

function openAction(action, fromCard, opener) {
  const dialog = $('confirm');
  $('confirm-title').textContent = `${action.label}: confirm`;
  const inputs = {};
  $('confirm-fields').replaceChildren(...action.fields.map((f) => {
    const id = `field-${f.name}`;
    const input = el('input', { id, name: f.name, type: 'text', required: f.required, autocomplete: 'off', 'aria-describedby': f.help ? `${id}-help` : undefined });
    if (f.fromCard && fromCard[f.fromCard]) input.value = fromCard[f.fromCard];
    if (f.kind === 'channel' && !f.fromCard) input.setAttribute('list', 'channel-names');
    input.addEventListener('change', preview);
    inputs[f.name] = input;
    return el('div', {}, el('label', { for: id, text: f.label }), input, f.help ? el('p', { id: `${id}-help`, class: 'help', text: f.help }) : undefined);
  }), el('datalist', { id: 'channel-names' }, state.channels.map((c) => el('option', { value: c.channel }))));
  const ok = $('confirm-ok');
  ok.textContent = action.label;
  ok.disabled = false;
  $('confirm-summary').textContent = '';
  $('confirm-error').hidden = true;
  current = { action, opener, params: () => Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value.trim()]).filter(([, v]) => v !== '')) };
  dialog.showModal();
  // Focus a required field still empty, else Cancel: Enter on a destructive dialog must not act.
  (Object.values(inputs).find((i) => i.required && !i.value) ?? $('confirm-cancel')).focus();
  preview();
}

async function runAction() {
  const { action, params } = current;
  const ok = $('confirm-ok');
  ok.disabled = true;
  try {
    const outcome = await api(`/api/actions/${enc(action.name)}/run`, { method: 'POST', body: { game: state.game, ...params() } });
    closeDialog();
    announce(outcome.message);
    state.channel = outcome.channel;
    await refresh();
  } catch (error) {
    showDialogError(error);
    ok.disabled = false;
  }
}

function closeDialog() {
  $('confirm').close();
  current?.opener?.focus?.();
}

// ---- refresh -------------------------------------------------------------------------------

function showError(error) {
  const banner = $('banner');
  banner.hidden = false;
  banner.textContent = `Could not load: ${error.error?.text ?? error.message}`;
}

/** Poll channels and uploads; a 304 (same ETag) re-renders nothing. */
async function refresh() {
  if (!state.game) return;
  const game = state.game;
  const [channels, uploads] = await Promise.all([
    api(`/api/games/${enc(game)}/channels`, { tagKey: `${game}/channels` }),
    api(`/api/games/${enc(game)}/uploads`, { tagKey: `${game}/uploads` }),
  ]);
  if (game !== state.game) return;
  if (channels) {
    renderChannels(channels);
    await loadHistory();
  }
  if (uploads) renderUploads(uploads);
  document.body.dataset.ready = 'true';
}

async function start() {
  state.meta = await api('/api/meta');
  $('target').textContent = state.meta.target;
  if (state.meta.access.reason) {
    const banner = $('banner');
    banner.hidden = false;
    banner.textContent = `Read-only. ${state.meta.access.reason}`;
  }
  $('history-channel').addEventListener('change', (e) => selectChannel(e.target.value));
  $('confirm-cancel').addEventListener('click', closeDialog);
  $('confirm-ok').addEventListener('click', runAction);
  $('confirm').addEventListener('close', () => current?.opener?.focus?.());
  await loadGames();
  setInterval(() => refresh().catch(showError), state.meta.pollIntervalMs);
  setInterval(() => loadGames().catch(showError), 15000);
}

start().catch(showError);
