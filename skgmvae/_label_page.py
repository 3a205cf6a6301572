"""The labeling page: one HTML document for the offline file ``suggest`` writes and for ``skgmvae label``.

``__CONFIG__`` is replaced by escaped JSON (:func:`skgmvae.labeling.script_json`).
Offline (``mode: "offline"``) the images are inline and labels live in
``localStorage``; served (``mode: "server"``) the page fetches its state and
posts each label to the server, which writes the labels CSV. Every path and
label is put into the page as text (``textContent``, attributes), never as
markup.
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
#path { overflow-wrap: anywhere; }
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
hidden>Each label is written to the labels file as soon as you move on.</span></p>
<div id="frame"><img id="image" alt="image to label"><div>
<p id="position" class="muted"></p><p id="path" class="muted"></p>
<input id="label" autocomplete="off" autofocus aria-label="label of this image">
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
const $ = (id) => document.getElementById(id);
const box = $("label");
const columns = 5;
let items = [];
let byPath = new Map();
let current = 0;
let cluster = null;

function report(text, failed) {
  $("status").textContent = text;
  $("status").className = failed ? "failed" : "muted";
}
function labeledCount() { return items.filter((item) => item.label).length; }
function imageUrl(path) { return "images/" + path.split("/").map(encodeURIComponent).join("/"); }
function addItem(path, label) {
  const item = {path: path, src: imageUrl(path), label: label};
  items.push(item);
  byPath.set(path, item);
  return item;
}

function offlineStore() {
  function read() {
    try {
      return new Map(JSON.parse(localStorage.getItem(config.storageKey) || "[]"));
    } catch (error) {
      return new Map();
    }
  }
  return {
    async load() {
      const saved = read();
      return {items: config.items.map((item) => ({path: item.path, src: item.src,
                                                 label: saved.has(item.path) ? String(saved.get(item.path)) : ""}))};
    },
    save(changes) {
      const saved = read();
      for (const change of changes) {
        if (change.label) { saved.set(change.path, change.label); } else { saved.delete(change.path); }
      }
      try {
        localStorage.setItem(config.storageKey, JSON.stringify([...saved]));
        report(`${labeledCount()} labels kept in this browser; Save writes them to ${config.saveName}`);
      } catch (error) {
        report(`the browser could not keep the labels (${error.message}): press Save now`, true);
      }
    },
    leave() {},
  };
}

async function send(url, body, keepalive) {
  const response = await fetch(url, {method: "POST", keepalive: Boolean(keepalive), body: JSON.stringify(body),
    headers: {"Content-Type": "application/json", "X-Skgmvae-Token": config.token}});
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(answer.error || `${response.status} ${response.statusText}`);
    error.refused = response.status < 500;  // the server read the request and refused it: sending again won't help
    throw error;
  }
  return answer;
}

function serverStore() {
  const pending = new Map();
  let sending = false;
  async function flush() {
    if (sending || !pending.size) { return; }
    sending = true;
    const batch = [...pending].map(([path, label]) => ({path: path, label: label}));
    let sent = false;
    try {
      const answer = await send("api/labels", {labels: batch});
      for (const change of batch) { if (pending.get(change.path) === change.label) { pending.delete(change.path); } }
      report(`saved: ${answer.n_labeled} images labeled in ${answer.csv}`);
      sent = true;
    } catch (error) {
      if (error.refused) {
        for (const change of batch) { if (pending.get(change.path) === change.label) { pending.delete(change.path); } }
        report(`NOT saved: ${error.message}`, true);
      } else {
        report(`NOT saved yet (${error.message}); trying again`, true);
        setTimeout(flush, 2000);
      }
    } finally {
      sending = false;
    }
    if (sent && pending.size) { flush(); }
  }
  return {
    async load() {
      const response = await fetch("api/state");
      const state = await response.json();
      if (!response.ok) { throw new Error(state.error || response.statusText); }
      report(`labels are written to ${state.csv} as you go`);
      return {items: state.items.map((item) => ({path: item.path, src: imageUrl(item.path), label: item.label})),
              clusters: state.clusters};
    },
    save(changes) {
      for (const change of changes) { pending.set(change.path, change.label); }
      flush();
    },
    leave() {
      if (pending.size) {
        send("api/labels", {labels: [...pending].map(([path, label]) => ({path: path, label: label}))}, true)
          .catch(() => {});
      }
    },
  };
}

const store = config.mode === "server" ? serverStore() : offlineStore();

function commit() {
  // The box holds the shown image's label only while the one-image view is shown.
  if (!items.length || $("image-view").hidden) { return; }
  const value = box.value.trim();
  if (value !== items[current].label) {
    items[current].label = value;
    store.save([{path: items[current].path, label: value}]);
  }
}
function render() {
  if (!items.length) { $("position").textContent = "no images to label"; return; }
  const item = items[current];
  $("image").src = item.src;
  $("path").textContent = item.path;
  $("position").textContent = `image ${current + 1} of ${items.length}, ${labeledCount()} labeled`;
  box.value = item.label;
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
  const rows = items.map((item, i) => `${i + 1},${quote(item.path)},${quote(item.label)}`);
  const lines = ["order,path,label"].concat(rows);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], {type: "text/csv"}));
  link.download = config.saveName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  report(`saved ${labeledCount()} labels to ${config.saveName}`);
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
    const label = (row[labelColumn] || "").trim();
    const item = byPath.get(path);
    if (!path) { continue; }
    if (!item) { unknown += 1; continue; }
    if (label && label !== item.label) { item.label = label; changes.push({path: path, label: label}); }
  }
  store.save(changes);
  current = firstBlank();
  render();
  const note = unknown ? `; ${unknown} of its paths are not on this page` : "";
  report(`read ${changes.length} labels from ${file.name}${note}`, unknown > 0);
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
  const label = $("cluster-label").value.trim();
  if (!label) { loadCluster(cluster.position + 1); return; }
  const cells = [...$("grid").children];
  const excluded = cluster.members.filter((path, i) => cells[i].getAttribute("aria-pressed") === "true");
  const included = cluster.members.filter((path, i) => cells[i].getAttribute("aria-pressed") !== "true");
  try {
    const answer = await send("api/cluster", {component: cluster.component, label: label, included: included,
                                              excluded: excluded});
    for (const path of included) { (byPath.get(path) || addItem(path, "")).label = label; }
    report(`saved: ${included.length} images labeled ${label}; ${answer.n_labeled} labeled in ${answer.csv}`);
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
store.load().then((state) => {
  items = [];
  byPath = new Map();
  for (const item of state.items) { items.push(item); byPath.set(item.path, item); }
  current = firstBlank();
  render();
  if (state.clusters) {
    $("views").hidden = false;
    if (location.hash === "#clusters") { showView("cluster"); }
  }
}).catch((error) => report(`could not load the labels (${error.message})`, true));
</script></body></html>
"""
