// The pywatt dashboard: renders what the gateway pushes on /_pywatt/api/stream (Server-Sent
// Events: "state", "trees", "event"). No framework, no build step; text only goes into the
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
  stream.addEventListener("event", (m) => addEvent(JSON.parse(m.data)));
}

connect();
