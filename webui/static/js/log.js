// Live log: each turn as lanes, one per agent, so specialists working in parallel show side
// by side; routing, A2A messages, memory reads/writes/syncs, fallbacks and timings.
// Past turns come from a thread's saved states and the team's A2A log.

import { agentName, coordinatorOf, getConfig, store, teamOf, threads } from "./api.js";
import { clear, fmt, h, notify, when } from "./dom.js";
import { A2A_TYPES, turnsFromHistory } from "./events.js";

const TYPE_LABEL = {
  [A2A_TYPES.task]: "A2A task",
  [A2A_TYPES.result]: "A2A result",
  [A2A_TYPES.sync]: "A2A memory sync",
};

let shown = { threadId: null, turns: [] };
let pending = false;

function lanesOf(turn) {
  if (turn.graph === getConfig().chat_graph) return [turn.agent];
  const lanes = teamOf(turn.graph).agents.map((a) => a.name);
  for (const e of turn.entries) if (e.lane && !lanes.includes(e.lane)) lanes.push(e.lane);
  return lanes;
}

function since(turn, t) {
  return typeof t === "number" && turn.t0 !== null ? `+${(t - turn.t0).toFixed(2)} s` : null;
}

function tag(kind, text) {
  return h("span", { class: `tag tag-${kind}` }, text);
}

function entryBody(turn, e) {
  switch (e.kind) {
    case "routing":
      return [
        h("div", { class: "entry-head" }, tag("routing", "routing"),
          h("strong", {}, " → ", e.specialists.map(agentName).join(", ") || "nobody")),
        h("div", { class: "muted" }, `${e.method || "?"} router: ${e.reason}`),
      ];
    case "a2a": {
      const label = TYPE_LABEL[e.contentType] || e.contentType;
      const kind = e.contentType === A2A_TYPES.sync ? "sync" : e.contentType === A2A_TYPES.result ? "result" : "task";
      return [
        h("div", { class: "entry-head" }, tag(kind, label),
          h("strong", {}, ` ${agentName(e.source)} → ${agentName(e.target)}`)),
        e.text ? h("div", { class: "text" }, e.text) : null,
        h("div", { class: "muted small" }, e.contentType,
          typeof e.confidence === "number" ? ` · copy confidence ${fmt(e.confidence)}` : ""),
      ];
    }
    case "memory_read":
      return [
        h("div", { class: "entry-head" }, tag("read", `read ${e.reads.length} memor${e.reads.length === 1 ? "y" : "ies"}`)),
        h("ul", { class: "reads" }, e.reads.map((r) => h("li", {},
          h("span", { class: "text" }, r.content),
          h("span", { class: "muted small" }, ` score ${fmt(r.score, 3)} · confidence ${fmt(r.confidence)}`)))),
      ];
    case "memory_write":
      return [
        h("div", { class: "entry-head" }, tag("write", `memory ${e.action || "written"}`),
          e.scope ? h("span", { class: "muted small" }, ` ${e.scope}`) : null),
        h("div", { class: "text" }, e.content),
        typeof e.confidence === "number" ? h("div", { class: "muted small" }, `confidence ${fmt(e.confidence)}`) : null,
      ];
    case "node":
      return [
        h("div", { class: "muted small node" },
          e.duration ? `worked ${e.ms} ms` : `${e.node} done at +${e.ms} ms`,
          e.tools && e.tools.length ? ` · tools: ${e.tools.join(", ")}` : ""),
      ];
    case "tool_call":
      return [
        h("div", { class: "entry-head" }, tag(e.ok ? "tool" : "fallback", e.ok ? "tool" : "tool failed"),
          h("strong", {}, ` ${e.tool}`),
          h("span", { class: "muted small" }, ` ${Object.entries(e.args).map(([k, v]) => `${k}=${v}`).join(", ")}`)),
        e.facts.length ? h("div", { class: "text small" }, e.facts.join(" ")) : null,
      ];
    case "fallback":
      return [h("div", { class: "entry-head" }, tag("fallback", "fallback"), ` ${e.step}: deterministic fallback used`)];
    case "grounding":
      if (!e.drafted) {
        return [h("div", { class: "entry-head" }, tag("fallback", "composed"), ` ${e.step}: no model text; the composed one is shown`)];
      }
      return [
        h("div", { class: "entry-head" }, tag(e.replaced ? "fallback" : "ground", e.replaced ? "replaced" : "grounded"),
          ` ${e.step}: `, e.replaced ? "the model's text was replaced by the grounded one" : "the model's text was shown"),
        e.problems.length ? h("div", { class: "muted small" }, e.problems.join("; ")) : null,
      ];
    case "reply":
      return [
        h("div", { class: "entry-head" }, tag("reply", "reply"), e.fallback ? h("span", { class: "muted small" }, " composed (fallback)") : null),
        h("div", { class: "text" }, e.text),
      ];
    default:
      return [
        h("div", { class: "entry-head" }, tag("other", e.name)),
        h("pre", { class: "small" }, JSON.stringify(e.data, null, 1)),
      ];
  }
}

function timeline(turn) {
  const spans = Object.entries(turn.intervals);
  if (!spans.length) return null;
  const start = Math.min(...spans.map(([, s]) => s.started));
  const end = Math.max(...spans.map(([, s]) => s.finished));
  const total = Math.max(end - start, 0.001);
  const overlap = spans.length > 1 &&
    Math.max(...spans.map(([, s]) => s.started)) < Math.min(...spans.map(([, s]) => s.finished));
  return h("div", { class: "timeline", role: "group", "aria-label": "Specialists' working time" },
    h("div", { class: "muted small" }, overlap ? "Specialists worked in parallel" : "Specialists' working time"),
    spans.map(([agent, s]) => h("div", { class: "bar-row" },
      h("span", { class: "bar-label" }, agentName(agent)),
      h("span", { class: "bar-track" },
        h("span", {
          class: `bar lane-${agent}`,
          style: `left:${(((s.started - start) / total) * 100).toFixed(1)}%;width:${Math.max(((s.finished - s.started) / total) * 100, 1.5).toFixed(1)}%`,
        })),
      h("span", { class: "bar-ms" }, `${Math.round((s.finished - s.started) * 1000)} ms`))));
}

// Memories an agent reads in one go show as one entry listing them.
function grouped(entries) {
  const out = [];
  const open = new Map(); // lane -> its read group still open
  for (const e of entries) {
    if (e.kind === "memory_read") {
      const group = open.get(e.lane);
      if (group) group.reads.push(e);
      else {
        const fresh = { ...e, reads: [e] };
        open.set(e.lane, fresh);
        out.push(fresh);
      }
      continue;
    }
    open.delete(e.lane);
    out.push(e);
  }
  return out;
}

function renderTurn(turn) {
  const lanes = lanesOf(turn);
  const status = turn.error ? `failed: ${turn.error}` : turn.done ? "done" : "running…";
  const head = h("header", { class: "turn-head" },
    h("div", {},
      h("span", { class: `status status-${turn.error ? "error" : turn.done ? "done" : "live"}` }, status),
      " ", h("strong", {}, turn.graph === getConfig().chat_graph ? `Chat with ${agentName(turn.agent)}` : `Team ${teamOf(turn.graph).team}`),
      turn.customer ? h("span", { class: "muted" }, ` · customer #${turn.customer}`) : null,
      turn.totalMs !== null ? h("span", { class: "muted" }, ` · ${turn.totalMs} ms`) : null,
      turn.createdAt ? h("span", { class: "muted" }, ` · ${when(turn.createdAt)}`) : null),
    h("div", { class: "request" }, "“", turn.request, "”"));
  const grid = h("div", { class: "lanes", style: `--lanes:${lanes.length}` },
    lanes.map((lane, i) => h("div", { class: `lane-head lane-${lane}`, style: `grid-column:${i + 1}` }, agentName(lane))));
  for (const e of grouped(turn.entries)) {
    const col = Math.max(lanes.indexOf(e.lane), 0) + 1;
    grid.appendChild(h("div", { class: `entry kind-${e.kind} lane-${e.lane}`, style: `grid-column:${col}` },
      h("div", { class: "entry-meta" }, h("span", { class: "who" }, agentName(e.lane)), since(turn, e.at)),
      entryBody(turn, e)));
  }
  return h("article", { class: "turn", dataset: { thread: turn.threadId } }, head, timeline(turn), grid);
}

export function render() {
  pending = false;
  const box = document.getElementById("turns");
  clear(box);
  if (!shown.turns.length) {
    box.appendChild(h("p", { class: "muted" }, "No turn yet. Send a request on the Team page, or pick a thread."));
    return;
  }
  box.appendChild(h("p", { class: "muted small" }, "Thread ", h("code", {}, shown.threadId)));
  for (const turn of [...shown.turns].reverse()) box.appendChild(renderTurn(turn));
}

function schedule() {
  if (!pending) {
    pending = true;
    requestAnimationFrame(render);
  }
}

// A live turn (from the Team page): shown, and redrawn as its events arrive.
export function showLive(turn, earlier = []) {
  shown = { threadId: turn.threadId, turns: [...earlier, turn] };
  schedule();
}

export function update() {
  schedule();
}

async function a2aLogReader(team) {
  try {
    const found = await store.search(["team", team, "a2a"], { limit: 1000 });
    const messages = found.items.map((i) => i.value);
    return (correlationId) => messages
      .filter((m) => m.correlation_id === correlationId)
      .sort((a, b) => Date.parse(a.created) - Date.parse(b.created));
  } catch {
    return null; // this key may not read the log: the thread's state still tells the story
  }
}

export async function pastTurns(thread) {
  const history = await threads.history(thread.thread_id);
  const graph = (thread.metadata && thread.metadata.graph_id) || "team";
  const team = teamOf(graph);
  return turnsFromHistory({
    threadId: thread.thread_id,
    graph,
    chatGraph: getConfig().chat_graph,
    agent: thread.metadata && thread.metadata.agent,
    coordinator: coordinatorOf(team),
    history,
    logFor: await a2aLogReader(team.team),
  });
}

async function openThread(thread) {
  try {
    shown = { threadId: thread.thread_id, turns: await pastTurns(thread) };
    render();
  } catch (error) {
    notify(`Could not load thread ${thread.thread_id}: ${error.message}`);
  }
}

export async function refreshThreads() {
  const list = document.getElementById("thread-list");
  let found;
  try {
    found = await threads.search();
  } catch (error) {
    clear(list).appendChild(h("li", { class: "muted" }, error.message));
    return;
  }
  clear(list);
  if (!found.length) list.appendChild(h("li", { class: "muted" }, "No threads yet."));
  for (const thread of found) {
    const graph = (thread.metadata && thread.metadata.graph_id) || "?";
    const first = thread.values && thread.values.request;
    list.appendChild(h("li", {},
      h("button", {
        type: "button",
        class: thread.thread_id === shown.threadId ? "thread current" : "thread",
        dataset: { thread: thread.thread_id },
        "aria-current": thread.thread_id === shown.threadId ? "true" : null,
        onclick: () => openThread(thread),
      },
      h("span", { class: "thread-graph" }, graph === getConfig().chat_graph
        ? `Chat${thread.metadata && thread.metadata.agent ? ` with ${agentName(thread.metadata.agent)}` : ""}`
        : `Team ${teamOf(graph).team}`),
      h("span", { class: "thread-text" }, first || thread.thread_id),
      h("span", { class: "muted small" }, when(thread.updated_at)))));
  }
}

export function initLog() {
  document.getElementById("refresh-threads").addEventListener("click", refreshThreads);
  render();
}
