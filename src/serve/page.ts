/**
 * serve/page — the API's home page (GET /): upload an image or draw one, press Predict, see the
 * class, its confidence and a bar per class. The page follows the served model, as GET /ready
 * describes it: it shows the input the model expects (e.g. "32x32 RGB") and its class names, and
 * offers the drawing canvas and the photo preprocessing only for a grayscale model (a drawing is a
 * white-on-black gray image, and the photo conversion makes gray images); uploads always work. One self-contained HTML document (inline style and
 * script, no remote resources, works offline), sent with a Content-Security-Policy that allows only
 * that exact inline script and style (by hash) and requests to this server.
 *
 * Uploads go to POST /predict as multipart (field "image"), with `preprocess=` when a mode is
 * chosen, and the answer line says which preprocessing ran; a drawing is averaged down from
 * 280x280 to the model's H x W grayscale in the browser (28x28: 10x10 blocks) and sent to
 * POST /predict/batch as H*W values 0-255.
 * Both ask for top_k=1000, which the server caps at the number of classes: every class's probability.
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';

const STYLE = `
[hidden]{display:none!important}
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1f;--muted:#5c5f66;--line:#c9ccd3;--accent:#0b5cc7;--track:#e6e8ec;--err:#b3261e}
@media (prefers-color-scheme:dark){:root{--bg:#131418;--fg:#e8e9ed;--muted:#a3a7b0;--line:#464a53;--accent:#7ab0ff;--track:#2a2d34;--err:#ff8a80}}
body{margin:0 auto;max-width:60rem;padding:1rem;font:16px/1.5 system-ui,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;gap:0 1.5rem;align-items:baseline}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem}
a{color:var(--accent)}
main{display:grid;gap:0 2.5rem;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr))}
.pad{position:relative;width:min(280px,100%);aspect-ratio:1}
canvas{display:block;box-sizing:border-box;width:100%;height:100%;touch-action:none;background:#000;border:1px solid var(--line);cursor:crosshair}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
#cursor{position:absolute;width:12px;height:12px;margin:-6px 0 0 -6px;box-sizing:border-box;border:2px solid #f3c;border-radius:50%;pointer-events:none}
#cursor.down{background:#f3c}
button{font:inherit;padding:.35rem 1rem;border-radius:.4rem;border:1px solid var(--line);background:var(--track);color:var(--fg);cursor:pointer}
#predict{background:var(--accent);border-color:var(--accent);color:var(--bg);font-weight:600}
button:disabled{opacity:.6;cursor:progress}
#preview{display:block;max-width:140px;max-height:140px;border:1px solid var(--line)}
.muted{color:var(--muted);font-size:.9rem}
#error{color:var(--err)}
#result{font-size:1.2rem}
#bars{list-style:none;padding:0}
#bars li{display:grid;grid-template-columns:minmax(6rem,auto) 1fr 4.5rem;gap:.6rem;align-items:center}
.track{height:.8rem;background:var(--track);border-radius:.4rem;overflow:hidden}
.fill{display:block;height:100%;background:var(--muted)}
#bars .top{font-weight:600}#bars .top .fill{background:var(--accent)}
.value{text-align:right;font-variant-numeric:tabular-nums}
`;

// Browser code: plain ES2017, no template literals (this file embeds it in one).
const SCRIPT = `
(function () {
'use strict';
var $ = function (id) { return document.getElementById(id); };
var pad = $('pad'), ctx = pad.getContext('2d'), file = $('file'), preview = $('preview'), cursor = $('cursor');
var predictButton = $('predict'), modelLine = $('model'), result = $('result'), error = $('error'), bars = $('bars'), source = $('source'), mode = $('mode'), path = $('path');
var expects = $('expects'), drawBox = $('draw'), modeRow = $('mode-row');
var input = null, last = null, pen = false, key = { x: 140, y: 140 }, shape = { height: 28, width: 28, channels: 1 };

function use(kind) {
  input = kind;
  source.textContent = kind === 'file' ? 'Predict will send the uploaded file.' : kind === 'draw' ? 'Predict will send the drawing.' : '';
}
function clearPad() {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, 280, 280);
  if (input === 'draw') use(null);
}
ctx.lineWidth = 20; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#fff';
clearPad();

function stroke(a, b) {
  ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
  if (input !== 'draw') { file.value = ''; preview.hidden = true; use('draw'); }
}
function at(e) {
  var r = pad.getBoundingClientRect();
  return { x: (e.clientX - r.left) * 280 / r.width, y: (e.clientY - r.top) * 280 / r.height };
}
pad.addEventListener('pointerdown', function (e) {
  e.preventDefault(); pad.focus(); cursor.hidden = true;
  pad.setPointerCapture(e.pointerId); last = at(e); stroke(last, last);
});
pad.addEventListener('pointermove', function (e) { if (last) { var p = at(e); stroke(last, p); last = p; } });
pad.addEventListener('pointerup', function () { last = null; });
pad.addEventListener('pointercancel', function () { last = null; });

// Keyboard drawing: arrows move the pen, Space lowers or lifts it.
var moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
function clamp(v) { return Math.max(0, Math.min(280, v)); }
pad.addEventListener('keydown', function (e) {
  var d = moves[e.key];
  if (e.key === ' ') { pen = !pen; if (pen) stroke(key, key); }
  else if (d) { var n = { x: clamp(key.x + d[0] * 10), y: clamp(key.y + d[1] * 10) }; if (pen) stroke(key, n); key = n; }
  else return;
  e.preventDefault();
  cursor.hidden = false;
  cursor.style.left = (key.x / 2.8) + '%'; cursor.style.top = (key.y / 2.8) + '%';
  cursor.classList.toggle('down', pen);
});
pad.addEventListener('blur', function () { cursor.hidden = true; });
$('clear').addEventListener('click', clearPad);

file.addEventListener('change', function () {
  var f = file.files && file.files[0];
  if (preview.src) URL.revokeObjectURL(preview.src);
  if (!f) { preview.hidden = true; preview.removeAttribute('src'); if (input === 'file') use(null); return; }
  preview.src = URL.createObjectURL(f); preview.hidden = false; use('file');
});

/** The drawing as the model's H x W grayscale, each pixel the mean of its block of the canvas. */
function pixels() {
  var h = shape.height, w = shape.width, d = ctx.getImageData(0, 0, 280, 280).data, sums = new Array(h * w).fill(0), counts = new Array(h * w).fill(0);
  for (var y = 0; y < 280; y++) for (var x = 0; x < 280; x++) {
    var i = Math.floor(y * h / 280) * w + Math.floor(x * w / 280);
    sums[i] += d[(y * 280 + x) * 4]; counts[i] += 1;
  }
  return sums.map(function (s, i) { return Math.round(s / counts[i]); });
}

/** Adapts the page to the model: what it expects, its classes, the canvas and photo mode only for gray input. */
function follow(m) {
  if (!m.input) return;
  shape = m.input;
  var gray = shape.channels === 1;
  expects.textContent = 'Expects ' + shape.description + ' images (others are resized and converted)' + (m.classes ? '; classes: ' + m.classes.join(', ') : '') + '.';
  drawBox.hidden = !gray; modeRow.hidden = !gray;
  if (!gray) { mode.value = ''; if (input === 'draw') use(null); }
}

function pct(p) { return (p * 100).toFixed(1) + '%'; }
function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text) e.textContent = text; return e; }
function showModel(m) { if (m) modelLine.textContent = 'Model: ' + m.name + ' version ' + m.version; }
function describe(status, body) {
  return body && body.error ? status + ' ' + body.error.code + ': ' + body.error.message : 'HTTP ' + status;
}

function refreshModel() {
  return fetch('ready', { headers: { accept: 'application/json' } })
    .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); })
    .then(function (r) {
      if (r.ok) { showModel(r.body.model); if (r.body.model.engine) modelLine.textContent += ' (' + r.body.model.engine + ')'; follow(r.body.model); }
      else modelLine.textContent = 'No model is ready: ' + describe(r.status, r.body);
    })
    .catch(function (e) { modelLine.textContent = 'Cannot reach the server: ' + e.message; });
}

function render(p, timing, upload) {
  result.textContent = p.prediction + ', ' + pct(p.confidence) + ' confidence' + (timing ? ' (' + timing.total.toFixed(1) + ' ms)' : '');
  path.textContent = upload && p.preprocessing ? 'Preprocessing: ' + p.preprocessing + (p.preprocessing === 'photo' ? ' (product-photo conversion)' : ' (as the dataset images)') : '';
  bars.replaceChildren.apply(bars, p.top_k.map(function (k) {
    var li = el('li', k.label === p.prediction ? 'top' : ''), track = el('span', 'track'), fill = el('span', 'fill');
    track.setAttribute('aria-hidden', 'true');
    fill.style.width = pct(k.probability);
    track.append(fill);
    li.append(el('span', 'label', k.label), track, el('span', 'value', pct(k.probability)));
    return li;
  }));
}

predictButton.addEventListener('click', function () {
  var kind = input;
  error.textContent = '';
  if (!kind) { error.textContent = drawBox.hidden ? 'Upload an image first.' : 'Upload an image or draw something first.'; return; }
  var request;
  if (kind === 'file') {
    var form = new FormData();
    form.append('image', file.files[0]);
    request = fetch('predict?top_k=1000' + (mode.value ? '&preprocess=' + encodeURIComponent(mode.value) : ''), { method: 'POST', body: form });
  } else {
    request = fetch('predict/batch?top_k=1000', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: [pixels()] }) });
  }
  predictButton.disabled = true;
  result.textContent = 'Predicting...';
  request
    .then(function (r) { return r.json().catch(function () { return null; }).then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); })
    .then(function (r) {
      if (!r.ok || !r.body) throw new Error(describe(r.status, r.body));
      showModel(r.body.model);
      render(kind === 'file' ? r.body : r.body.predictions[0], r.body.timing_ms, kind === 'file');
    })
    .catch(function (e) {
      result.textContent = ''; path.textContent = '';
      error.textContent = 'Prediction failed: ' + e.message;
      refreshModel();
    })
    .then(function () { predictButton.disabled = false; });
});
refreshModel();
})();
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export const HOME_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>Kiln classifier</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Kiln classifier</h1>
<p id="model" aria-live="polite">Checking for a model...</p>
<a href="docs">API documentation</a>
</header>
<main>
<section aria-labelledby="input-heading">
<h2 id="input-heading">Image</h2>
<p><label for="file">Upload an image (PNG, JPEG, WebP, GIF or TIFF)</label><br>
<input id="file" name="image" type="file" accept="image/png,image/jpeg,image/webp,image/gif,image/tiff"></p>
<p id="expects" class="muted"></p>
<p id="mode-row"><label for="mode">Preprocessing of uploads</label>
<select id="mode"><option value="">the model's default</option><option value="auto">auto (per image)</option><option value="dataset">dataset (as the training images)</option><option value="photo">photo (product photo)</option></select></p>
<img id="preview" alt="The uploaded image" hidden>
<div id="draw">
<p id="pad-help" class="muted">Or draw an item, white on black: with the mouse or a finger, or from the keyboard (focus the canvas; arrow keys move the pen, Space lowers or lifts it).</p>
<div class="pad"><canvas id="pad" width="280" height="280" tabindex="0" aria-label="Drawing canvas, 280 by 280 pixels" aria-describedby="pad-help"></canvas><div id="cursor" hidden></div></div>
<p><button id="clear" type="button">Clear</button></p>
</div>
<p><button id="predict" type="button">Predict</button></p>
<p id="source" class="muted" aria-live="polite"></p>
</section>
<section aria-labelledby="result-heading">
<h2 id="result-heading">Prediction</h2>
<p id="result" role="status">Upload or draw an image, then press Predict.</p>
<p id="path" class="muted"></p>
<p id="error" role="alert"></p>
<ol id="bars" aria-label="Probability of each class"></ol>
</section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** Allows only this page's own inline script and style, and requests back to this server. */
export const HOME_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** GET / → the home page; hidden from the OpenAPI document. */
export const homePage: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-security-policy', HOME_PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(HOME_PAGE_HTML),
  );
};
