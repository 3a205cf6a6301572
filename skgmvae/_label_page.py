"""The labeling page: one HTML document for the offline file ``suggest`` writes and for ``skgmvae label``.

``__CONFIG__`` is replaced by escaped JSON (:func:`script_json`).
Offline (``mode: "offline"``) the images are inline and labels live in
``localStorage``; served (``mode: "server"``) the page fetches its state and
posts each label to the server, which writes the labels CSV and answers item
by item. Every path and label is put into the page as text (``textContent``,
attributes), never as markup.

:data:`RULE` is the label rule of :func:`skgmvae.labeling.clean_label` in
JavaScript (the constants come from Python through ``config.rule``); the
tests run it beside the Python rule on the same cases. Where the script keeps
the labels, offline or served, is :data:`skgmvae._label_page_stores.STORES`.
"""

import base64
import html
import io
import json
import secrets

import numpy as np

from ._label_page_stores import STORES

RULE = r"""
function makeLabelRule(rule) {
  // The steps of skgmvae.labeling.clean_label: NFC, trim rule.trimmed, refuse rule.refused, the length, "-1".
  const names = Object.keys(rule.refused);
  const refused = new RegExp("[" + names.map((name) => "\\p{" + name + "}").join("") + "]", "u");
  function clean(text) {
    let label = String(text).normalize("NFC");
    let start = 0;
    let end = label.length;
    while (start < end && rule.trimmed.includes(label[start])) { start++; }
    while (end > start && rule.trimmed.includes(label[end - 1])) { end--; }
    label = label.slice(start, end);
    const bad = label.match(refused);
    if (bad) {
      const category = names.find((name) => new RegExp("\\p{" + name + "}", "u").test(bad[0]));
      const code = bad[0].codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
      return {error: `the label holds U+${code}, ${rule.refused[category]}; a label is one line of visible text.`};
    }
    const length = [...label].length;
    if (length > rule.maxLength) {
      return {error: `the label is ${length} characters long; a label has at most ${rule.maxLength}.`};
    }
    if (label === rule.unlabeled) {
      return {error: `'${rule.unlabeled}' marks unlabeled images in skgmvae; leave the label empty for an image ` +
                     "without one."};
    }
    return {label: label};
  }
  // skgmvae.labeling.label_key: what two spellings of one label share.
  function key(label) { return label.toUpperCase().toLowerCase().normalize("NFC"); }
  return {clean: clean, key: key};
}
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="__POLICY__">
<meta name="referrer" content="no-referrer">
<title>__TITLE__</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 52em; color: #222; }
#frame { display: flex; gap: 2em; align-items: center; }
#image { width: 280px; height: 280px; image-rendering: pixelated; border: 1px solid #bbb; object-fit: contain; }
#label, #cluster-label { font-size: 2em; width: 6em; }
#path, #problem { overflow-wrap: anywhere; }
#grid { display: grid; grid-template-columns: repeat(5, 112px); gap: 6px; margin: 1em 0; }
.cell { padding: 2px; border: 3px solid #9c9; background: #fff; cursor: pointer; }
.cell img { width: 100px; height: 100px; image-rendering: pixelated; object-fit: contain; display: block; }
.cell[aria-pressed="true"] { border-color: #c33; opacity: .3; }
.cell:focus { outline: 3px solid #36c; }
nav button[aria-current="true"] { font-weight: bold; }
.muted { color: #666; } .failed { color: #b00; font-weight: bold; } button { font-size: 1em; margin-right: .5em; }
</style></head>
<body>
<h1>__TITLE__</h1>
<nav id="views" hidden><button id="show-image" aria-current="true">One image at a time</button><button
 id="show-cluster">A cluster at a time</button></nav>
<section id="image-view">
<p class="muted">Type the label and press Enter for the next image (Shift+Enter goes back). Leave a box empty to
skip an image. <span id="offline-help">Labels are kept in this browser as you go; Save downloads them as a CSV for
<code>skgmvae predict --labels</code>, Open labels goes on from such a file.</span><span id="server-help"
hidden>Each label is written to the labels file as soon as you move on.</span> A label is one line of text;
labels that differ only in case are one label.</p>
<div id="frame"><img id="image" alt="image to label"><div>
<p id="position" class="muted"></p><p id="path" class="muted"></p>
<input id="label" autocomplete="off" autofocus aria-label="label of this image" aria-describedby="problem">
<p id="problem" class="failed"></p>
<p><button id="previous">Previous</button><button id="next">Next</button><span id="offline-tools"><button
 id="save">Save</button><label>Open labels <input type="file" id="open" accept=".csv,text/csv"></label></span></p>
</div></div>
</section>
<section id="cluster-view" hidden>
<p class="muted">The most typical images of one cluster. Click the ones that do not belong (or Tab to them, arrows
move, Space toggles), type the label of the rest and press Enter. An empty label skips the cluster.</p>
<p id="cluster-position" class="muted"></p>
<div id="grid" role="group" aria-label="images of the cluster"></div>
<p><input id="cluster-label" autocomplete="off" aria-label="label of the images kept">
<button id="confirm">Label them</button><button id="skip">Skip cluster</button></p>
</section>
<p id="status" class="muted" role="status"></p>
<script nonce="__NONCE__">
"use strict";
const config = __CONFIG__;
__RULE__
const labelRule = makeLabelRule(config.rule);
const $ = (id) => document.getElementById(id);
const box = $("label");
const columns = 5;
const batchSize = 100;
let items = [];
let byPath = new Map();
let current = 0;
let cluster = null;
const auditPaths = new Set(config.auditPaths || []);

function report(text, failed) {
  $("status").textContent = text;
  $("status").className = failed ? "failed" : "muted";
}
function labeledCount() { return items.filter((item) => item.label).length; }
function refusedCount() { return items.filter((item) => item.problem).length; }
function imageUrl(path) { return "images/" + path.split("/").map(encodeURIComponent).join("/"); }
function makeItem(path, src, label) { return {path: path, src: src, label: label, draft: "", problem: ""}; }
function addItem(path, label) {
  const item = makeItem(path, imageUrl(path), label);
  items.push(item);
  byPath.set(path, item);
  return item;
}
__STORES__

const store = config.mode === "server" ? serverStore() : offlineStore();

function commit() {
  // The box holds the shown image's label only while the one-image view is shown.
  if (!items.length || $("image-view").hidden) { return; }
  if (box.value !== shown(items[current])) { store.save([{path: items[current].path, label: box.value}]); }
}
function renderProblem() {
  if (!items.length) { return; }
  const item = items[current];
  $("problem").textContent = item.problem ? `not saved: ${item.problem}` : "";
  const refused = refusedCount();
  $("position").textContent = `image ${current + 1} of ${items.length}, ${labeledCount()} labeled` +
    (refused ? `, ${refused} not saved` : "") +
    (auditPaths.has(item.path) ? "; a random check image: its label measures the accuracy, so label it even if " +
     "it is hard" : "");
}
function render() {
  if (!items.length) { $("position").textContent = "no images to label"; return; }
  const item = items[current];
  $("image").src = item.src;
  $("path").textContent = item.path;
  box.value = shown(item);
  renderProblem();
  box.focus();
}
function show(index) {
  commit();
  current = Math.max(0, Math.min(items.length - 1, index));
  render();
}
function firstBlank() {
  const index = items.findIndex((item) => !item.label);
  return index < 0 ? Math.max(0, items.length - 1) : index;
}

function quote(text) { return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text; }
function save() {
  commit();
  const audit = auditPaths.size > 0;
  const rows = items.map((item, i) => `${i + 1},${quote(item.path)},${quote(item.label)}` +
    (audit ? (auditPaths.has(item.path) ? ",1" : ",") : ""));
  const lines = [audit ? "order,path,label,audit" : "order,path,label"].concat(rows);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], {type: "text/csv"}));
  link.download = config.saveName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  const refused = refusedCount();
  report(`saved ${labeledCount()} labels to ${config.saveName}` +
         (refused ? `; ${refused} refused ones are not in it (shown on their images)` : ""), refused > 0);
}
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  text = text.replace(/^\ufeff/, "");
  for (let i = 0; i < text.length; i++) {
    const character = text[i];
    if (quoted) {
      if (character !== '"') {
        field += character;
      } else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else {
        quoted = false;
      }
    } else if (character === '"') {
      quoted = true;
    } else if (character === ",") {
      row.push(field); field = "";
    } else if (character === "\n" || character === "\r") {
      if (character === "\r" && text[i + 1] === "\n") { i++; }
      row.push(field); rows.push(row); row = []; field = "";
    } else {
      field += character;
    }
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}
async function openLabels(file) {
  const rows = parseCsv(await file.text());
  const header = (rows.shift() || []).map((name) => name.trim());
  const pathColumn = header.indexOf("path");
  const labelColumn = header.indexOf("label");
  if (pathColumn < 0 || labelColumn < 0) {
    report(`${file.name} has no path and label columns: not a labels file`, true);
    return;
  }
  commit();
  const changes = [];
  let unknown = 0;
  for (const row of rows) {
    const path = (row[pathColumn] || "").trim();
    const label = row[labelColumn] || "";
    if (!path) { continue; }
    if (!byPath.has(path)) { unknown += 1; continue; }
    if (labelRule.clean(label).label !== "") { changes.push({path: path, label: label}); }
  }
  const before = refusedCount();
  store.save(changes);
  current = firstBlank();
  render();
  const notes = [];
  if (unknown) { notes.push(`${unknown} of its paths are not on this page`); }
  if (refusedCount() > before) { notes.push(`${refusedCount() - before} of its labels are refused (shown on their ` +
                                            "images)"); }
  report(`read ${changes.length} labels from ${file.name}${notes.length ? "; " + notes.join("; ") : ""}`,
         notes.length > 0);
}

function showView(name) {
  const clusters = name === "cluster";
  commit();
  $("image-view").hidden = clusters;
  $("cluster-view").hidden = !clusters;
  $("show-image").setAttribute("aria-current", String(!clusters));
  $("show-cluster").setAttribute("aria-current", String(clusters));
  if (clusters) {
    loadCluster(cluster ? cluster.position : 0);
  } else {
    current = items[current] && !items[current].label ? current : firstBlank();
    render();
  }
}
async function loadCluster(position) {
  try {
    const response = await fetch(`api/cluster?position=${position}`);
    const answer = await response.json();
    if (!response.ok) { throw new Error(answer.error || response.statusText); }
    cluster = answer;
  } catch (error) {
    report(`could not load the cluster (${error.message})`, true);
    return;
  }
  const grid = $("grid");
  grid.replaceChildren();
  if (!cluster.members.length) {
    $("cluster-position").textContent = "Every image of every cluster is labeled or was excluded from its cluster.";
    return;
  }
  $("cluster-position").textContent = `cluster ${cluster.position + 1} of ${cluster.count}: the ` +
    `${cluster.members.length} most typical of its ${cluster.available} images not labeled yet`;
  cluster.members.forEach((path) => {
    const cell = document.createElement("button");
    cell.type = "button";
    cell.className = "cell";
    cell.title = path;
    cell.setAttribute("aria-pressed", "false");
    const image = document.createElement("img");
    image.src = imageUrl(path);
    image.alt = path;
    cell.append(image);
    cell.addEventListener("click", () => {
      cell.setAttribute("aria-pressed", String(cell.getAttribute("aria-pressed") !== "true"));
    });
    grid.append(cell);
  });
  $("cluster-label").value = "";
  $("cluster-label").focus();
}
async function confirmCluster() {
  if (!cluster || !cluster.members.length) { return; }
  const typed = $("cluster-label").value;
  if (!typed.trim()) { loadCluster(cluster.position + 1); return; }
  const cells = [...$("grid").children];
  const excluded = cluster.members.filter((path, i) => cells[i].getAttribute("aria-pressed") === "true");
  const included = cluster.members.filter((path, i) => cells[i].getAttribute("aria-pressed") !== "true");
  try {
    const answer = await send("api/cluster", {component: cluster.component, label: typed, included: included,
                                              excluded: excluded});
    for (const path of included) { accept(byPath.get(path) || addItem(path, ""), answer.label); }
    report(`saved: ${included.length} images labeled ${answer.label}; ${answer.n_labeled} labeled in ${answer.csv}`);
  } catch (error) {
    report(`NOT saved (${error.message})`, true);
    return;
  }
  loadCluster(cluster.position + 1);
}

box.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); show(current + (event.shiftKey ? -1 : 1)); }
});
$("cluster-label").addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); confirmCluster(); }
});
$("grid").addEventListener("keydown", (event) => {
  const cells = [...$("grid").children];
  const at = cells.indexOf(document.activeElement);
  const step = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns}[event.key];
  if (at < 0 || step === undefined) { return; }
  event.preventDefault();
  cells[Math.max(0, Math.min(cells.length - 1, at + step))].focus();
});
$("previous").onclick = () => show(current - 1);
$("next").onclick = () => show(current + 1);
$("save").onclick = save;
$("open").onchange = (event) => { if (event.target.files.length) { openLabels(event.target.files[0]); } };
$("show-image").onclick = () => showView("image");
$("show-cluster").onclick = () => showView("cluster");
$("confirm").onclick = confirmCluster;
$("skip").onclick = () => { if (cluster) { loadCluster(cluster.position + 1); } };
window.addEventListener("pagehide", () => { commit(); store.leave(); });

const served = config.mode === "server";
$("offline-tools").hidden = served;
$("offline-help").hidden = served;
$("server-help").hidden = !served;
if (served && location.search) {
  // The key has been exchanged for the cookie: keep it out of the address bar and the history.
  history.replaceState(null, "", location.pathname + location.hash);
}
store.load().then((state) => {
  items = [];
  byPath = new Map();
  for (const item of state.items) { items.push(item); byPath.set(item.path, item); }
  const kept = state.kept.filter((change) => byPath.has(change.path) && change.label !== byPath.get(change.path).label);
  if (kept.length) { store.save(kept); }
  for (const [path, [draft, problem]] of state.refused) {
    const item = byPath.get(path);
    if (item && item.typed === undefined) { refuse(item, String(draft), String(problem)); }
  }
  store.persist();
  current = firstBlank();
  render();
  if (served && kept.length) { report(`sending ${kept.length} labels this browser kept from before`); }
  if (state.clusters) {
    $("views").hidden = false;
    if (location.hash === "#clusters") { showView("cluster"); }
  }
}).catch((error) => report(`could not load the labels (${error.message})`, true));
</script></body></html>
""".replace("__RULE__", RULE.strip()).replace("__STORES__", STORES.strip())


def script_json(value):
    """``value`` as JSON that can sit inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\u003c``-style escapes, so that no
    string (a file name holding ``</script>``, say) can close the element or
    open a comment, and U+2028/U+2029 are escaped for older JavaScript
    parsers. Those characters only occur inside JSON strings, where the
    escapes decode back to the same text.
    """
    text = json.dumps(value, ensure_ascii=False)
    for character in "<>&\u2028\u2029":
        text = text.replace(character, f"\\u{ord(character):04x}")
    return text


def png_data_uri(image, side):
    """A grey image row in [0, 1] (bright strokes) as a PNG data URI, drawn dark on light."""
    from PIL import Image

    pixels = np.clip(255 * (1.0 - np.asarray(image, dtype=np.float64).reshape(side, side)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def page_policy(nonce):
    """The page's Content-Security-Policy: its own script (by ``nonce``) and nothing else.

    The server adds ``frame-ancestors 'none'`` in its HTTP header, the only
    place where browsers read it.
    """
    return ("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; connect-src 'self'; "
            f"script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'")


def page_html(config, *, title, nonce=None):
    """The labeling page around ``config`` (offline: the images inline; served: how to reach the server).

    A fresh nonce (or the one given, which the server also sends in its
    header) allows the page's own script and nothing else, so markup that
    slipped into the page could not run code. ``config`` holds the label
    rule's constants under ``'rule'`` (:func:`skgmvae.labeling.rule_config`).
    """
    nonce = nonce or secrets.token_urlsafe(16)
    return (PAGE.replace("__POLICY__", html.escape(page_policy(nonce)))
            .replace("__NONCE__", nonce)
            .replace("__TITLE__", html.escape(title))
            .replace("__CONFIG__", script_json(config)))
