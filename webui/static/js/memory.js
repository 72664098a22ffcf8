// Memory page: browse and search the team's memories per namespace, through the server's
// store API; see type, confidence, trust and source, provenance, event time, links, the
// supersede history and disputes; staff can forget a memory (the server decides who may).

import { agentName, forgetMemory, store } from "./api.js";
import { clear, fmt, h, meter, notify, when } from "./dom.js";

// Fields drawn in their own place; any other field a memory carries is listed as is, so
// what newer versions of the memory record add (trust, event time, ...) is never hidden.
const SHOWN = new Set([
  "memory_id", "content", "type", "scope", "mechanism", "confidence", "subject", "attribute",
  "value", "provenance", "created_at", "updated_at", "valid_from", "invalidated_at",
  "superseded_by", "mention_count", "keywords", "tags", "context", "links", "family", "valid",
  "content_key",
]);
const TRUST_KEYS = ["source_role", "trust", "trust_role", "asserted_by", "source_kind"];
const EVENT_TIME_KEYS = ["event_time", "event_at", "occurred_at", "happened_at"];
const DISPUTE_KEYS = ["disputed", "disputed_by", "conflicts_with", "dispute"];

let lastItems = [];
let latest = 0; // searches can overlap (typing, page load): only the latest one draws

function el(id) {
  return document.getElementById(id);
}

function label(namespace) {
  const [, team, kind, agent] = namespace;
  if (kind === "shared") return `${team}: shared (the whole team)`;
  if (kind === "agent") return `${team}: ${agentName(agent)} (private and synced copies)`;
  return namespace.join(" / ");
}

function isMemory(value) {
  return value && typeof value.content === "string" && typeof value.type === "string";
}

function first(value, keys) {
  const named = Object.keys(value).filter((k) => k.includes("trust") && keys === TRUST_KEYS);
  for (const key of [...keys, ...named]) {
    if (value[key] !== undefined && value[key] !== null && value[key] !== "") return [key, value[key]];
    if (value.provenance && value.provenance[key] !== undefined && value.provenance[key] !== null) {
      return [key, value.provenance[key]];
    }
  }
  return null;
}

// Whatever the record calls it (disputed, disputed_by, dispute, ...), a truthy field about
// a dispute, or a status "disputed", marks the memory as disputed.
function isDisputed(value) {
  return DISPUTE_KEYS.some((k) => value[k]) || value.status === "disputed" ||
    Object.entries(value).some(([k, v]) => k.includes("disput") && Boolean(v) && !(Array.isArray(v) && !v.length));
}

function row(name, ...content) {
  return [h("dt", {}, name), h("dd", {}, ...content)];
}

// A linked memory: found by its id in whichever namespace holds it.
async function showLinked(memoryId) {
  const mine = ++latest;
  const list = clear(el("memory-list"));
  try {
    const found = await store.search(["team"], { filter: { memory_id: memoryId }, limit: 10 });
    if (mine !== latest) return;
    lastItems = found.items.filter((i) => isMemory(i.value));
    el("memory-count").textContent = lastItems.length ? `Linked memory ${memoryId}` : `No memory ${memoryId} (forgotten?)`;
    for (const item of lastItems) list.appendChild(card(item));
  } catch (error) {
    list.appendChild(h("li", { class: "muted" }, `Could not read the memory: ${error.message}`));
  }
}

async function showHistory(item, box) {
  const v = item.value;
  try {
    const found = await store.search(item.namespace, { filter: { subject: v.subject, attribute: v.attribute }, limit: 100 });
    const versions = found.items.filter((i) => isMemory(i.value))
      .sort((a, b) => Date.parse(a.value.valid_from) - Date.parse(b.value.valid_from));
    clear(box).appendChild(h("ol", { class: "history" }, versions.map((i) => h("li", {
      class: i.value.invalidated_at ? "old" : "current",
    },
    h("span", { class: "small muted" }, when(i.value.valid_from), " "),
    i.value.content, " ",
    h("span", { class: "small muted" }, i.value.invalidated_at
      ? `superseded ${when(i.value.invalidated_at)}` : "current", isDisputed(i.value) ? " · disputed" : "")))));
  } catch (error) {
    clear(box).appendChild(h("p", { class: "muted" }, error.message));
  }
}

async function forget(item, card) {
  const v = item.value;
  const team = item.namespace[1];
  if (!window.confirm(`Forget this memory, its synced copies and the values it replaced?\n\n${v.content}`)) return;
  try {
    const report = await forgetMemory(team, item.key);
    card.remove();
    const n = report.removed.length;
    notify(`Forgot ${n} memor${n === 1 ? "y" : "ies"} (the memory, its copies and history); `
      + `${report.log_redacted} log message${report.log_redacted === 1 ? "" : "s"} redacted.`, "info");
  } catch (error) {
    notify(error.status === 403 || error.status === 401
      ? `Only staff can forget memories: ${error.message}` : `Could not forget: ${error.message}`);
  }
}

function owner(item) {
  const p = item.value.provenance || {};
  const where = item.namespace[2] === "shared" ? "shared" : `${agentName(item.namespace[3])}'s`;
  return p.origin_memory_id ? `${where} · copy from ${agentName(p.origin_agent)}` : `${where} · by ${agentName(p.source_agent)}`;
}

function card(item) {
  const v = item.value;
  const p = v.provenance || {};
  const trust = first(v, TRUST_KEYS);
  const eventTime = first(v, EVENT_TIME_KEYS);
  const extra = Object.entries(v).filter(([k]) => !SHOWN.has(k) && k !== (trust && trust[0]) && k !== (eventTime && eventTime[0]));
  const historyBox = h("div", { class: "history-box" });
  const details = h("dl", { class: "fields" },
    v.subject ? row("About", v.subject, v.attribute ? ` · ${v.attribute}` : "", v.value ? ` = ${v.value}` : "") : null,
    row("Source", p.source_agent || "?", trust ? ` · ${trust[0].replace(/_/g, " ")}: ${trust[1]}` : "",
      ` · ${v.mechanism}`, v.mention_count > 1 ? ` · stated ${v.mention_count}×` : ""),
    p.origin_memory_id ? row("Synced from", `${p.origin_agent || "?"} · ${p.hops} hop(s) · `, h("code", {}, p.origin_memory_id)) : null,
    p.thread_id ? row("Thread", h("code", {}, p.thread_id)) : null,
    row("Event time", eventTime ? when(eventTime[1]) : `valid from ${when(v.valid_from)}`),
    row("Recorded", `${when(v.created_at)}`, v.updated_at !== v.created_at ? ` · updated ${when(v.updated_at)}` : ""),
    v.invalidated_at ? row("Superseded", when(v.invalidated_at), v.superseded_by ? h("span", {}, " by ", h("code", {}, v.superseded_by)) : "") : null,
    v.context ? row("Context", v.context) : null,
    (v.keywords && v.keywords.length) || (v.tags && v.tags.length)
      ? row("Keywords", [...(v.tags || []).map((t) => h("span", { class: "chip" }, t)), " ", (v.keywords || []).join(", ")]) : null,
    v.links && v.links.length ? row("Links", v.links.map((id) => h("button", {
      type: "button", class: "link-id", title: `Show memory ${id}`, onclick: () => showLinked(id),
    }, id.slice(0, 8)))) : null,
    ...extra.map(([k, value]) => row(k.replace(/_/g, " "), typeof value === "object" ? JSON.stringify(value) : String(value))),
  );
  const node = h("li", { class: `memory${v.invalidated_at ? " invalid" : ""}${isDisputed(v) ? " disputed" : ""}` },
    h("div", { class: "memory-head" },
      h("span", { class: `tag tag-${v.type}` }, v.type),
      h("span", { class: "tag" }, v.scope),
      v.invalidated_at ? h("span", { class: "tag tag-old" }, "superseded") : null,
      isDisputed(v) ? h("span", { class: "tag tag-fallback" }, "disputed") : null,
      meter(v.confidence, "confidence"),
      typeof item.score === "number" ? h("span", { class: "muted small" }, `match ${fmt(item.score, 3)}`) : null,
      h("span", { class: "owner" }, owner(item))),
    h("p", { class: "memory-content" }, v.content),
    h("details", {}, h("summary", {}, "Provenance and fields"), details),
    h("div", { class: "memory-actions" },
      v.subject && v.attribute
        ? h("button", { type: "button", onclick: () => showHistory(item, historyBox) }, "History") : null,
      h("button", { type: "button", class: "danger", onclick: (e) => forget(item, e.target.closest("li")) }, "Forget")),
    historyBox);
  return node;
}

async function search(event) {
  if (event) event.preventDefault();
  const ns = el("namespace").value;
  const prefix = ns ? JSON.parse(ns) : ["team"];
  const filter = {};
  if (!el("show-invalid").checked) filter.valid = true;
  if (el("memory-type").value) filter.type = el("memory-type").value;
  const mine = ++latest;
  // busy until the newest search is shown: an earlier one answering late is dropped
  el("memory-list").setAttribute("aria-busy", "true");
  try {
    const found = await store.search(prefix, { query: el("memory-query").value.trim(), filter, limit: 100 });
    if (mine !== latest) return;
    const list = clear(el("memory-list"));
    lastItems = found.items.filter((i) => isMemory(i.value));
    el("memory-count").textContent = `${lastItems.length} memor${lastItems.length === 1 ? "y" : "ies"}`;
    for (const item of lastItems) list.appendChild(card(item));
  } catch (error) {
    if (mine !== latest) return;
    el("memory-count").textContent = "";
    clear(el("memory-list")).appendChild(h("li", { class: "muted" }, `Could not read the memory: ${error.message}`));
  } finally {
    if (mine === latest) el("memory-list").removeAttribute("aria-busy");
  }
}

export async function refreshNamespaces() {
  const select = el("namespace");
  const current = select.value;
  clear(select).appendChild(h("option", { value: "" }, "Every team"));
  try {
    const namespaces = await store.namespaces(["team"]);
    for (const ns of namespaces.namespaces || namespaces) {
      if (ns[ns.length - 1] === "a2a") continue; // the A2A log lives beside the memories
      select.appendChild(h("option", { value: JSON.stringify(ns) }, label(ns)));
    }
  } catch (error) {
    notify(`Could not list namespaces: ${error.message}`);
  }
  select.value = current;
  await search();
}

export function initMemory() {
  el("memory-form").addEventListener("submit", search);
  el("namespace").addEventListener("change", () => search());
  el("show-invalid").addEventListener("change", () => search());
  el("memory-type").addEventListener("change", () => search());
}
