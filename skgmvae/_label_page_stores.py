"""The labeling page's label stores, in JavaScript: offline in ``localStorage``, served through the server's API."""

STORES = r"""
// An item holds the label on file (or in the browser, offline), and what was typed: while it is on its way
// (typed) or after it was refused (draft, with the reason in problem). The box shows what was typed last.
function shown(item) {
  if (item.typed !== undefined) { return item.typed; }
  return item.problem ? item.draft : item.label;
}
function accept(item, label) { item.label = label; item.draft = ""; item.problem = ""; }
function refuse(item, draft, reason) { item.draft = draft; item.problem = reason; }
// The spelling in use for a label's key by the other items, as the server keeps it: one spelling per label.
function spelling(label, path) {
  if (!label) { return label; }
  const key = labelRule.key(label);
  const other = items.find((item) => item.path !== path && item.label && labelRule.key(item.label) === key);
  return other ? other.label : label;
}
function readStored(key) {
  try {
    return new Map(JSON.parse(localStorage.getItem(key) || "[]"));
  } catch (error) {
    return new Map();
  }
}
function writeStored(key, entries) {
  try {
    localStorage.setItem(key, JSON.stringify(entries));
    return true;
  } catch (error) {
    report(`the browser could not keep the labels (${error.message})`, true);
    return false;
  }
}
function refusedEntries() { return items.filter((item) => item.problem).map((item) => [item.path, [item.draft,
                                                                                                     item.problem]]); }

function offlineStore() {
  const refusedKey = config.storageKey + ":refused";
  return {
    async load() {
      return {items: config.items.map((item) => makeItem(item.path, item.src, "")),
              kept: [...readStored(config.storageKey)].map(([path, label]) => ({path: path, label: String(label)})),
              refused: readStored(refusedKey)};
    },
    save(changes) {
      let note = "";
      for (const change of changes) {
        const item = byPath.get(change.path);
        if (!item) { continue; }
        const checked = labelRule.clean(change.label);
        if (checked.error) {
          refuse(item, change.label, checked.error);
          note = `NOT kept: ${checked.error}`;
          continue;
        }
        const label = spelling(checked.label, item.path);
        accept(item, label);
        if (label !== checked.label) { note = `kept as ${label}, the spelling already in use`; }
      }
      if (this.persist()) {
        report(note || `${labeledCount()} labels kept in this browser; Save writes them to ${config.saveName}`,
               note.startsWith("NOT"));
      }
      renderProblem();
    },
    persist() {
      const kept = writeStored(config.storageKey, items.filter((item) => item.label).map((item) => [item.path,
                                                                                                    item.label]));
      return writeStored(refusedKey, refusedEntries()) && kept;
    },
    leave() {},
  };
}

async function send(url, body, keepalive) {
  const response = await fetch(url, {method: "POST", keepalive: Boolean(keepalive), body: JSON.stringify(body),
    headers: {"Content-Type": "application/json"}});
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(answer.error || `${response.status} ${response.statusText}`);
    // Held: the labels wait in the browser until the page is opened at the server's address again.
    error.held = Boolean(answer.credential) || response.status === 409;
    error.refused = response.status < 500 && !error.held;  // sending the same again won't help
    throw error;
  }
  return answer;
}

function serverStore() {
  const pending = new Map();  // path -> text typed and not answered yet
  let storageKey = null;
  let sending = false;
  let held = false;
  function keep() {
    // What is not saved yet survives a reload, a closed tab and a restarted server (same port, same origin).
    if (storageKey) {
      writeStored(storageKey, [...pending]);
      writeStored(storageKey + ":refused", refusedEntries());
    }
  }
  function settle(change, result) {
    if (pending.get(change.path) !== change.label) { return; }  // typed again since: the newer text goes next
    pending.delete(change.path);
    const item = byPath.get(change.path);
    if (!item) { return; }
    delete item.typed;
    if (result.saved) { accept(item, result.label); } else { refuse(item, change.label, result.error); }
  }
  async function flush() {
    if (sending || held || !pending.size) { return; }
    sending = true;
    const batch = [...pending].slice(0, batchSize).map(([path, label]) => ({path: path, label: label}));
    let again = false;
    try {
      const answer = await send("api/labels", {labels: batch});
      batch.forEach((change, i) => settle(change, answer.results[i]));
      const notes = answer.results.filter((result) => result.note).map((result) => result.note);
      const refused = refusedCount();
      report(`saved: ${answer.n_labeled} images labeled in ${answer.csv}` +
             (refused ? `; ${refused} NOT saved (shown on their images)` : "") +
             (notes.length ? `; ${notes[notes.length - 1]}` : ""), refused > 0);
      again = pending.size > 0;
    } catch (error) {
      if (error.held) {
        held = true;
        report(`NOT saved: ${error.message}. ${pending.size} labels not saved yet are kept in this browser and ` +
               "sent once the page is open again", true);
      } else if (error.refused) {
        batch.forEach((change) => settle(change, {saved: false, error: error.message}));
        report(`NOT saved: ${error.message}`, true);
        again = pending.size > 0;
      } else {
        report(`NOT saved yet (${error.message}); ${pending.size} labels kept, trying again`, true);
        setTimeout(flush, 1000);
      }
    } finally {
      sending = false;
      keep();
      renderProblem();
    }
    if (again) { flush(); }
  }
  return {
    async load() {
      const response = await fetch("api/state");
      const state = await response.json().catch(() => ({}));
      if (!response.ok) { throw new Error(state.error || response.statusText); }
      storageKey = state.storageKey;
      for (const path of state.auditPaths || []) { auditPaths.add(path); }
      report(`labels are written to ${state.csv} as you go`);
      return {items: state.items.map((item) => makeItem(item.path, imageUrl(item.path), item.label)),
              kept: [...readStored(storageKey)].map(([path, label]) => ({path: path, label: String(label)})),
              refused: readStored(storageKey + ":refused"), clusters: state.clusters};
    },
    save(changes) {
      for (const change of changes) {
        const item = byPath.get(change.path);
        if (item) { item.typed = change.label; }
        pending.set(change.path, change.label);
      }
      keep();
      flush();
    },
    persist: keep,
    leave() {
      keep();
      if (pending.size && !held) {
        send("api/labels", {labels: [...pending].slice(0, batchSize).map(([path, label]) => ({path: path,
                                                                                              label: label}))},
             true).catch(() => {});
      }
    },
  };
}
"""
