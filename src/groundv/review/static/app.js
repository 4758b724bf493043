// groundv review: one sample per screen, one key per action. No build step, no dependencies.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  config: null, reviewer: null, view: null, history: [], skipped: [], typed: "", busy: false,
  queue: "", reasons: new Set(),
};

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options, headers: { "Content-Type": "application/json", ...(options.headers || {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail ? String(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : response.statusText);
  return body;
}

function toast(text, kind = "") {
  const el = $("toast");
  el.textContent = text;
  el.className = `toast show ${kind}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.className = "toast"; }, 2600);
}

function queueFilter() {
  const [kind, value] = state.queue ? state.queue.split(":", 2) : ["", ""];
  return { category: kind === "c" ? value : "", source: kind === "s" ? value : "" };
}

async function start() {
  state.config = await api("/api/config");
  $("dataset").textContent = state.config.dataset + (state.config.reviewers === 2 ? " · two reviewers, blind" : "");
  const select = $("queue");
  const cats = [...new Set(state.config.strata.map((s) => s.category))];
  const srcs = [...new Set(state.config.strata.map((s) => s.source))];
  for (const c of cats) select.add(new Option(`category · ${c}`, `c:${c}`));
  if (srcs.length > 1) for (const s of srcs) select.add(new Option(`source · ${s}`, `s:${s}`));
  select.addEventListener("change", () => { state.queue = select.value; state.skipped = []; select.blur(); next(); });
  for (const [i, [code, meaning]] of Object.entries(state.config.reasons).entries()) {
    const li = document.createElement("li");
    li.dataset.code = code;
    li.innerHTML = `<kbd>${i + 1}</kbd><b></b><span></span>`;
    li.querySelector("b").textContent = code.replace("_", " ");
    li.querySelector("span").textContent = meaning;
    li.addEventListener("click", () => toggleReason(code));
    $("reasons").append(li);
  }
  if (state.config.problems.length) toast(`${state.config.problems.length} corrupt line(s) skipped — see stats`, "warn");
  state.reviewer = state.config.reviewer || localStorage.getItem("groundv-reviewer");
  if (!state.reviewer) return askName();
  begin();
}

function begin() {
  $("who").textContent = state.reviewer;
  if (location.hash === "#stats") showStats(); else next();
}

function askName() {
  $("name-dialog").hidden = false;
  $("name-input").value = state.reviewer || "";
  $("name-input").focus();
}

$("name-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.reviewer = $("name-input").value.trim();
  localStorage.setItem("groundv-reviewer", state.reviewer);
  $("name-dialog").hidden = true;
  state.history = []; state.skipped = [];
  begin();
});
$("who").addEventListener("click", () => { if (!state.config.reviewer) askName(); });

async function next() {
  const { category, source } = queueFilter();
  const q = new URLSearchParams({ reviewer: state.reviewer, category, source, skip: state.skipped.join(",") });
  const answer = await api(`/api/next?${q}`);
  showProgress(answer.progress);
  if (!answer.sample) {
    $("review").hidden = true; $("done").hidden = false;
    return;
  }
  await show(answer.sample);
}

function showProgress(p) {
  const pct = p.total ? (100 * p.complete) / p.total : 0;
  $("progress-fill").style.width = `${pct}%`;
  $("progress-text").textContent = `you ${p.done} · left ${p.left} · complete ${p.complete}/${p.total}`;
}

async function show(id, push = true) {
  const view = await api(`/api/samples/${encodeURIComponent(id)}?reviewer=${encodeURIComponent(state.reviewer)}`);
  if (push && (!state.view || state.view.id !== id)) {
    if (state.view) state.history.push(state.view.id);
  }
  render(view);
}

function setText(el, text) { el.textContent = text; }

function render(view) {
  state.view = view;
  $("done").hidden = true; $("stats").hidden = true; $("review").hidden = false;
  $("stage").style.setProperty("--aspect", view.image.width / view.image.height);
  const regionsLayer = $("layer-regions");
  if (!regionsLayer.src.endsWith(view.layers.regions)) regionsLayer.src = view.layers.regions;
  $("layer-targets").src = view.layers.targets;
  setText($("category"), view.category.replace("_", " "));
  $("category").dataset.cat = view.category;
  setText($("subtype"), [view.subtype, view.level].filter(Boolean).join(" · ") || "—");
  const v = view.verifier;
  $("verifier").textContent = v ? `${v.name || "verifier"}: ${v.verdict}` : "not verified";
  $("verifier").dataset.verdict = v ? v.verdict : "none";
  setText($("verifier-detail"), v && v.detail ? v.detail : "");
  $("verifier-detail").hidden = !(v && v.detail);
  const mine = view.review;
  $("mine").textContent = mine.verdict ? (mine.verdict === "accept" ? "✓ you accepted" : `✗ you rejected: ${mine.reasons.join(", ")}`) : "undecided";
  $("mine").dataset.verdict = mine.verdict || "none";
  const cur = view.current, orig = view.original;
  setText($("instruction"), cur.instruction);
  setText($("response"), cur.response);
  const ei = cur.instruction !== orig.instruction, er = cur.response !== orig.response;
  $("edited-i").hidden = !ei; $("edited-r").hidden = !er;
  setText($("was-i"), ei ? `was: ${orig.instruction}` : ""); $("was-i").hidden = !ei;
  setText($("was-r"), er ? `was: ${orig.response}` : ""); $("was-r").hidden = !er;
  const byId = new Map(view.regions.map((r) => [r.id, r]));
  const label = (id) => (byId.has(id) ? `#${byId.get(id).n} ${byId.get(id).name}` : `id ${id}`);
  $("targets-line").textContent = cur.no_target ? "targets: none (no-target sample)" : `targets: ${cur.targets.map(label).join(", ")}`;
  const changed = JSON.stringify([...cur.targets].sort()) !== JSON.stringify([...orig.targets].sort());
  $("targets-line").classList.toggle("changed", changed);
  setText($("scene-note"), view.scene_note || "");
  $("scene-note").hidden = !view.scene_note;
  const list = $("regions");
  list.replaceChildren(...view.regions.map((r) => {
    const li = document.createElement("li");
    li.className = [r.target ? "target" : "", r.flagged ? "flagged" : "", r.crowd ? "crowd" : "",
      r.kind === "part" ? "part" : ""].join(" ");
    li.dataset.n = r.n;
    li.innerHTML = `<span class="num"></span><span class="name"></span><span class="tags"></span>`;
    li.querySelector(".num").textContent = r.n;
    li.querySelector(".num").style.borderColor = r.colour;
    li.querySelector(".name").textContent = r.name + (r.parent ? ` (part of #${r.parent})` : "");
    const tags = [];
    if (r.target) tags.push("target");
    if (r.original !== r.target) tags.push(r.target ? "added" : "removed");
    if (r.expected) tags.push("verifier");
    if (r.crowd) tags.push("crowd");
    if (r.flagged) tags.push("⚑ bad mask");
    li.querySelector(".tags").textContent = tags.join(" · ");
    li.addEventListener("click", () => act({ action: "toggle", region: r.id }));
    return li;
  }));
  $("meta").textContent = `${view.id} · image ${view.image.id} (${view.image.width}×${view.image.height}, ${view.image.source}) · teacher ${view.teacher ? view.teacher.name : "?"}`;
}

async function act(payload, advance = false) {
  if (state.busy || !state.view) return;
  state.busy = true;
  try {
    const view = await api(`/api/samples/${encodeURIComponent(state.view.id)}/actions`, {
      method: "POST", body: JSON.stringify({ reviewer: state.reviewer, ...payload }),
    });
    render(view);
    const names = { accept: "accepted", reject: "rejected", edit: "text saved", toggle: "targets changed",
      flag: "flag changed", undo: "undone" };
    toast(names[payload.action] || payload.action, payload.action === "reject" ? "bad" : "ok");
    if (advance) { state.history.push(view.id); state.view = null; await next(); }
  } catch (error) {
    toast(error.message, "bad");
  } finally {
    state.busy = false;
  }
}

function regionByNumber(n) { return state.view && state.view.regions.find((r) => r.n === n); }

function openReject() {
  state.reasons = new Set(state.view.review.reasons);
  paintReasons();
  $("reject-note").value = "";
  $("reject-dialog").hidden = false;
  $("reject-form").querySelector("button.danger").focus();
}

function toggleReason(code) {
  if (state.reasons.has(code)) state.reasons.delete(code); else state.reasons.add(code);
  paintReasons();
}

function paintReasons() {
  for (const li of $("reasons").children) li.classList.toggle("on", state.reasons.has(li.dataset.code));
}

$("reject-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state.reasons.size) { toast("pick at least one reason (1–7)", "warn"); return; }
  $("reject-dialog").hidden = true;
  act({ action: "reject", reasons: [...state.reasons], note: $("reject-note").value }, true);
});
$("reject-cancel").addEventListener("click", () => { $("reject-dialog").hidden = true; });

function openEdit() {
  $("edit-instruction").value = state.view.current.instruction;
  $("edit-response").value = state.view.current.response;
  $("edit-dialog").hidden = false;
  $("edit-instruction").focus();
}
$("edit-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("edit-dialog").hidden = true;
  act({ action: "edit", instruction: $("edit-instruction").value, response: $("edit-response").value });
});
$("edit-cancel").addEventListener("click", () => { $("edit-dialog").hidden = true; });

$("stage").addEventListener("click", async (event) => {
  if (!state.view) return;
  const img = $("layer-regions");
  const rect = img.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * state.view.image.width;
  const y = ((event.clientY - rect.top) / rect.height) * state.view.image.height;
  const hit = await api(`/api/samples/${encodeURIComponent(state.view.id)}/region?x=${x}&y=${y}`);
  if (hit.region === null) { toast("no region there", "warn"); return; }
  act({ action: "toggle", region: hit.region });
});

// Pointing at the image names the region under the pointer and lights up its row (no click needed).
let hoverTimer = null;
$("stage").addEventListener("mousemove", (event) => {
  if (hoverTimer || !state.view || !state.view.regions.length) return;
  hoverTimer = setTimeout(async () => {
    hoverTimer = null;
    const rect = $("layer-regions").getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * state.view.image.width;
    const y = ((event.clientY - rect.top) / rect.height) * state.view.image.height;
    const hit = await api(`/api/samples/${encodeURIComponent(state.view.id)}/region?x=${x}&y=${y}`).catch(() => null);
    const region = hit && state.view.regions.find((r) => r.id === hit.region);
    for (const li of $("regions").children) li.classList.toggle("hover", region !== undefined && li.dataset.n === String(region && region.n));
    $("pointer").textContent = region ? `#${region.n} ${region.name}${region.target ? " · target" : ""}` : "";
    if (region) revealRow($("regions").children[region.n - 1]);
  }, 60);
});
// Scroll the region list only (never the panel: the instruction and response stay in view).
function revealRow(li) {
  const list = $("regions");
  if (li.offsetTop < list.scrollTop) list.scrollTop = li.offsetTop;
  else if (li.offsetTop + li.offsetHeight > list.scrollTop + list.clientHeight) {
    list.scrollTop = li.offsetTop + li.offsetHeight - list.clientHeight;
  }
}

$("stage").addEventListener("mouseleave", () => {
  $("pointer").textContent = "";
  for (const li of $("regions").children) li.classList.remove("hover");
});

function setTyped(text) { state.typed = text; $("typed").textContent = text ? `region #${text}…` : ""; }

document.addEventListener("keydown", (event) => {
  const dialogOpen = !$("reject-dialog").hidden || !$("edit-dialog").hidden || !$("name-dialog").hidden;
  if (event.key === "Escape") {
    $("reject-dialog").hidden = true; $("edit-dialog").hidden = true; setTyped(""); return;
  }
  if (!$("edit-dialog").hidden) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("edit-form").requestSubmit();
    return;
  }
  if (!$("reject-dialog").hidden) {
    const codes = Object.keys(state.config.reasons);
    if (document.activeElement !== $("reject-note") && /^[1-9]$/.test(event.key) && Number(event.key) <= codes.length) {
      event.preventDefault(); toggleReason(codes[Number(event.key) - 1]);
    }
    return;
  }
  if (dialogOpen || event.ctrlKey || event.metaKey || event.altKey || event.target.tagName === "SELECT") return;
  if (event.key === "s") { location.hash = location.hash === "#stats" ? "" : "#stats"; return; }
  if (!state.view || !$("stats").hidden) return;
  if (/^[0-9]$/.test(event.key)) { setTyped(state.typed + event.key); return; }
  if (event.key === "Backspace" && state.typed) { setTyped(state.typed.slice(0, -1)); return; }
  if ((event.key === "t" || event.key === "Enter" || event.key === "f") && state.typed) {
    const region = regionByNumber(Number(state.typed));
    setTyped("");
    if (!region) { toast("no region with that number", "warn"); return; }
    act({ action: event.key === "f" ? "flag" : "toggle", region: region.id });
    return;
  }
  const keys = {
    a: () => act({ action: "accept" }, true),
    r: openReject,
    e: openEdit,
    u: () => act({ action: "undo" }),
    f: () => toast("type the region's number, then f", "warn"),
    n: () => { state.skipped.push(state.view.id); state.history.push(state.view.id); state.view = null; next(); },
    ArrowRight: () => keys.n(),
    ArrowLeft: () => { const prev = state.history.pop(); if (prev) { state.view = null; show(prev, false); } },
  };
  if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
});

async function showStats() {
  const stats = await api("/api/stats");
  $("review").hidden = true; $("done").hidden = true; $("stats").hidden = false;
  const pct = (x) => (x === null ? "—" : `${(100 * x).toFixed(1)}%`);
  const kappa = (row) => (row.kappa === null ? `<span class="na"></span>` : row.kappa.toFixed(3));
  const rows = [...Object.entries(stats.by_category), ["all", stats.all]];
  $("stats-table").tBodies[0].replaceChildren(...rows.map(([name, row]) => {
    const tr = document.createElement("tr");
    if (name === "all") tr.className = "total";
    tr.innerHTML = `<td></td><td>${row.samples}</td><td>${row.verdicts}</td><td>${row.accepted}</td>` +
      `<td>${pct(row.acceptance)}</td><td>${row.pairs}</td><td>${kappa(row)}</td><td class="why"></td>`;
    tr.cells[0].textContent = name;
    const na = tr.querySelector(".na");
    if (na) na.textContent = `— ${row.kappa_note}`;
    tr.cells[7].textContent = Object.entries(row.reasons).map(([k, n]) => `${k} ${n}`).join(", ") || "—";
    return tr;
  }));
  $("stats-sub").textContent = `${stats.actions} actions logged · ${stats.reviewers === 2 ? "two reviewers per sample, blind" : "one reviewer per sample"} · press s to go back`;
  $("stats-corrupt").textContent = stats.corrupt.length
    ? `Skipped ${stats.corrupt.length} corrupt line(s) of reviews.jsonl: ` + stats.corrupt.map((c) => `${c.where}: ${c.why}`).join("; ")
    : "";
}

window.addEventListener("hashchange", () => { if (location.hash === "#stats") showStats(); else if (state.view) render(state.view); else next(); });
$("tab-stats").addEventListener("click", () => { location.hash = location.hash === "#stats" ? "" : "#stats"; });

start().catch((error) => toast(error.message, "bad"));
