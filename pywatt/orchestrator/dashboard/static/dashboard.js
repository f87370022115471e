// The pywatt dashboard: renders what the gateway pushes on /_pywatt/api/stream (Server-Sent
// Events: "state", "trees", "traces", "event"; a trace's spans come from
// /_pywatt/api/traces/<id> when its row is clicked). No framework, no build step; text only goes into the
// page as text (textContent), never as markup.
"use strict";

const MAX_EVENTS = 200;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function clock(at) {
  if (typeof at !== "number") return "--:--:--";
  const d = new Date(at * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.` +
    pad(d.getMilliseconds(), 3);
}

function badge(state) {
  return el("span", { class: `state state-${state}` }, state);
}

function fill(tableId, rows, emptyId) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...rows);
  if (emptyId) document.getElementById(emptyId).hidden = rows.length > 0;
}

// --- state: modules, crashes, rotations, endpoints ------------------------------------------

function renderState(state) {
  const o = state.orchestrator;
  document.getElementById("orchestrator").textContent =
    `orchestrator pid ${o.pid} · pywatt ${o.version} · ${o.api}`;
  fill("modules", state.modules.map((m) =>
    el("tr", { "data-module": m.id },
      el("td", { class: "id" }, m.id), el("td", null, m.kind),
      el("td", { class: "module-state" }, badge(m.state)),
      el("td", { class: "num" }, m.pid ?? "–"), el("td", { class: "num" }, m.restarts),
      el("td", null, (m.endpoints || []).join(" ") || "–"),
      el("td", { class: "num" }, m.last_exit ?? "–"))));
  fill("crashes", state.crashes.map((c) =>
    el("tr", { "data-module": c.module ?? "orchestrator" },
      el("td", null, clock(c.at)), el("td", null, c.module ?? "orchestrator"),
      el("td", null, c.what + (c.incarnation != null ? ` #${c.incarnation}` : "")),
      el("td", null, badge(c.state)), el("td", { class: "reason" }, c.reason))),
    "crashes-empty");
  fill("rotations", state.rotations.map((r) =>
    el("tr", null, el("td", null, clock(r.at)), el("td", null, r.keys.join(", ")),
      el("td", null, r.rotation_id),
      el("td", { class: "reason" },
        Object.entries(r.outcome).map(([m, s]) => `${m}: ${s}`).join(", ") || "no holder"))),
    "rotations-empty");
  fill("endpoints", state.endpoints.map((e) =>
    el("tr", null, el("td", null, e.module), el("td", null, `${e.method} ${e.route}`),
      el("td", { class: "num" }, e.count), el("td", { class: "num" }, e.errors),
      el("td", { class: "num" }, e.p50_ms), el("td", { class: "num" }, e.p95_ms),
      el("td", { class: "num" }, e.p99_ms), el("td", { class: "num" }, e.max_ms))),
    "endpoints-empty");
}

// --- trees -----------------------------------------------------------------------------------

function treeNode(node) {
  const kind = node.strategy ? `supervisor ${node.strategy}` : node.kind;
  const box = node.mailbox ? ` · mailbox ${node.mailbox.depth}/${node.mailbox.capacity}` +
    ` · handled ${node.mailbox.processed}` : "";
  const item = el("li", { "data-actor": node.name },
    el("span", { class: "name" }, node.name), " ", badge(node.state),
    el("span", { class: "info" },
      `${kind} · incarnation ${node.incarnation} · restarts ${node.restarts}${box}`));
  if (node.children && node.children.length) {
    item.append(el("ul", null, ...node.children.map(treeNode)));
  }
  return item;
}

function treeCard(title, tree, error) {
  const card = el("div", { class: "tree" }, el("h3", null, title));
  card.append(tree ? el("ul", null, treeNode(tree)) : el("p", { class: "empty" }, error));
  return card;
}

function renderTrees(reply) {
  const cards = reply.modules.map((m) =>
    treeCard(`module ${m.id} (${m.state})`, m.tree, `no tree: ${m.error}`));
  cards.push(treeCard(`orchestrator (pid ${reply.pid})`, reply.orchestrator));
  document.getElementById("trees").replaceChildren(...cards);
}

// --- events ----------------------------------------------------------------------------------

function describe(e) {
  switch (e.kind) {
    case "started": return `${e.name} started (incarnation ${e.incarnation})`;
    case "stopped": return `${e.name} stopped (incarnation ${e.incarnation})`;
    case "crashed": return `${e.name} crashed (incarnation ${e.incarnation}): ${e.error}`;
    case "restarted": return `${e.name} restarting as incarnation ${e.incarnation}`;
    case "gave_up": return `${e.name} gave up: ${e.error}`;
    case "secret_rotated": return `rotated ${e.keys.join(", ")} (${e.rotation_id})`;
    case "channel_changed":
      return `channel ${e.channel}${e.module ? " of " + e.module : ""} ${e.state}` +
        (e.reason ? `: ${e.reason}` : "");
    case "module_state":
      return `module ${e.module} ${e.previous} -> ${e.state}` + (e.reason ? ` (${e.reason})` : "");
    case "events_dropped": return `${e.count} event(s) dropped: a reader fell behind`;
    default: return JSON.stringify(e);
  }
}

function addEvent(e) {
  const list = document.getElementById("events");
  const bad = e.kind === "crashed" || e.kind === "gave_up" ||
    (e.kind === "module_state" && ["crashed", "gave_up", "failed"].includes(e.state));
  list.prepend(el("li", { class: bad ? "crash" : null },
    `${clock(e.at)}  ${e.source.padEnd(14)} ${describe(e)}`));
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

// --- traces ----------------------------------------------------------------------------------

let selectedTrace = null;
let shownSpans = 0;  // spans of the waterfall on the page (more may arrive: it is redrawn)

function renderTraces(reply) {
  const lost = [];
  if (reply.dropped) lost.push(`${reply.dropped} span(s) dropped`);
  if (reply.rejected) lost.push(`${reply.rejected} malformed span(s) refused`);
  document.getElementById("traces-note").textContent =
    `(the latest ${reply.keep}, click one for its waterfall${lost.length ? "; " + lost.join(", ") : ""})`;
  fill("traces", reply.traces.map((t) => {
    const row = el("tr", { "data-trace": t.trace_id, class: t.trace_id === selectedTrace ? "selected" : null },
      el("td", null, clock(t.at)), el("td", { class: "id" }, t.root),
      el("td", { class: "num" }, t.duration_ms.toFixed(2)),
      el("td", { class: "num", title: t.modules.join(", ") }, t.module_count),
      el("td", { class: "num" }, t.span_count + (t.dropped ? ` (+${t.dropped} dropped)` : "")),
      el("td", null, t.error ? el("span", { class: "error-flag" }, "error") : "ok"));
    row.addEventListener("click", () => openTrace(t.trace_id));
    return row;
  }), "traces-empty");
  const shown = reply.traces.find((t) => t.trace_id === selectedTrace);
  if (shown && shown.span_count !== shownSpans) openTrace(selectedTrace);
}

async function openTrace(traceId) {
  selectedTrace = traceId;
  for (const row of document.querySelectorAll("#traces tbody tr")) {
    row.classList.toggle("selected", row.dataset.trace === traceId);
  }
  const box = document.getElementById("waterfall");
  const reply = await fetch(`api/traces/${encodeURIComponent(traceId)}`);
  const data = await reply.json();
  if (!reply.ok) {
    box.replaceChildren(el("p", { class: "empty" }, data.error));
  } else {
    renderWaterfall(box, data);
  }
  box.hidden = false;
}

function renderWaterfall(box, trace) {
  const total = Math.max(trace.duration_ms, 0.001);
  const rows = trace.spans.map((s) => {
    const where = [s.module ?? s.source, s.actor].filter(Boolean).join(" · ");
    const label = el("div", { class: "wf-label" }, s.name, " ", el("span", { class: "wf-where" }, where));
    label.style.paddingLeft = `${s.depth * 1.1}rem`;
    const bar = el("div", { class: `wf-bar wf-kind-${s.kind}` });
    bar.style.left = `${(s.offset_ms / total) * 100}%`;
    bar.style.width = `${(s.duration_ms / total) * 100}%`;
    const track = el("div", { class: "wf-track" }, bar,
      el("span", { class: "wf-ms" }, `${s.duration_ms.toFixed(2)} ms`));
    const attributes = Object.entries(s.attributes).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    const title = [`${s.kind} span ${s.span_id} from ${s.source}`, ...attributes];
    if (s.status_message) title.unshift(`error: ${s.status_message}`);
    return el("div", {
      class: "wf-row" + (s.status === "error" ? " wf-error" : ""), "data-span": s.span_id,
      "data-depth": s.depth, "data-module": s.module ?? "", title: title.join("\n"),
    }, label, track);
  });
  const head = el("h3", null, `${trace.root} · ${trace.duration_ms.toFixed(2)} ms · ` +
    `${trace.span_count} spans · modules: ${trace.modules.join(", ") || "none"}` +
    (trace.error ? " · error" : ""));
  const errors = trace.spans.filter((s) => s.status === "error" && s.status_message)
    .map((s) => el("p", { class: "wf-detail" }, `${s.name}: ${s.status_message}`));
  box.replaceChildren(head, ...rows, ...errors);
  box.dataset.trace = trace.trace_id;
  shownSpans = trace.span_count;
}

// --- the stream ------------------------------------------------------------------------------

function connect() {
  const status = document.getElementById("connection");
  const stream = new EventSource("api/stream");
  stream.addEventListener("open", () => {
    status.textContent = "live";
    status.className = "conn conn-live";
  });
  stream.addEventListener("error", () => {  // EventSource reconnects by itself
    status.textContent = "reconnecting…";
    status.className = "conn conn-connecting";
  });
  stream.addEventListener("state", (m) => renderState(JSON.parse(m.data)));
  stream.addEventListener("trees", (m) => renderTrees(JSON.parse(m.data)));
  stream.addEventListener("traces", (m) => renderTraces(JSON.parse(m.data)));
  stream.addEventListener("event", (m) => addEvent(JSON.parse(m.data)));
}

connect();
