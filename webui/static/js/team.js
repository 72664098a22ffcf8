// Team page: send a request to the team as a customer, or talk to one agent; the reply
// streams in while the live log fills.

import { agentName, coordinatorOf, getConfig, streamRun, teamOf, threads } from "./api.js";
import { clear, h, notify } from "./dom.js";
import { applyStreamEvent, finishTurn, newTurn } from "./events.js";
import { showLive, update } from "./log.js";

const STREAM_MODES = ["custom", "updates", "messages-tuple"];
let conversation = { threadId: null, target: null, turns: [] };
let running = null;

function el(id) {
  return document.getElementById(id);
}

function resetConversation() {
  conversation = { threadId: null, target: el("target").value, turns: [] };
  el("thread-id").textContent = "new";
  clear(el("conversation"));
  clear(el("activity"));
}

function bubble(role, who, text) {
  const item = h("li", { class: `msg msg-${role}` },
    h("div", { class: "msg-who" }, who),
    h("div", { class: "msg-text" }, text));
  el("conversation").appendChild(item);
  item.scrollIntoView({ block: "nearest" });
  return item.querySelector(".msg-text");
}

function activitySummary(turn) {
  const box = clear(el("activity"));
  const steps = [];
  const routing = turn.entries.find((e) => e.kind === "routing");
  if (routing) steps.push(`${agentName(turn.coordinator)} routed to ${routing.specialists.map(agentName).join(" and ")} (${routing.method})`);
  const tasks = turn.entries.filter((e) => e.kind === "a2a" && e.contentType.endsWith("task+json")).length;
  const results = turn.entries.filter((e) => e.kind === "a2a" && e.contentType.endsWith("result+json")).length;
  if (tasks) steps.push(`${tasks} A2A task(s), ${results} result(s)`);
  const reads = turn.entries.filter((e) => e.kind === "memory_read").length;
  if (reads) steps.push(`${reads} memories read`);
  const writes = turn.entries.filter((e) => e.kind === "memory_write").length;
  if (writes) steps.push(`${writes} written`);
  const syncs = turn.entries.filter((e) => e.kind === "a2a" && e.contentType.endsWith("memory-sync+json")).length;
  if (syncs) steps.push(`${syncs} synced`);
  if (!steps.length) steps.push(turn.done ? "done" : "working…");
  box.appendChild(h("p", { class: "muted small" }, steps.join(" · "), " ",
    h("a", { href: "#log" }, "Open the live log")));
}

async function ensureThread(graph, agent) {
  if (conversation.threadId) return conversation.threadId;
  const metadata = { graph_id: graph, source: "web-ui" };
  if (agent) metadata.agent = agent;
  const thread = await threads.create(metadata);
  conversation.threadId = thread.thread_id;
  el("thread-id").textContent = thread.thread_id;
  return thread.thread_id;
}

async function send(event) {
  event.preventDefault();
  const text = el("message").value.trim();
  if (!text || running) return;
  const target = el("target").value;
  if (conversation.target !== target) resetConversation();
  const customer = el("customer").value.trim().replace(/^#/, "");
  const config = getConfig();
  const [kind, name] = target.split(":");
  const isTeam = kind === "team";
  const graph = isTeam ? name : config.chat_graph;
  const coordinator = coordinatorOf(teamOf(graph));
  running = new AbortController();
  el("send").disabled = true; // one turn at a time, from the first click on
  const threadId = await ensureThread(graph, isTeam ? null : name).catch((error) => {
    notify(`Could not start a conversation: ${error.message}`);
    return null;
  });
  if (!threadId) {
    running = null;
    el("send").disabled = false;
    return;
  }

  const label = isTeam ? teamOf(graph).subject_label : "customer";
  bubble("user", customer && isTeam ? `${label[0].toUpperCase()}${label.slice(1)} #${customer}` : "You", text);
  const replyBox = bubble("agent", isTeam ? `${agentName(coordinator)} (for the team)` : agentName(name), "…");
  replyBox.setAttribute("aria-busy", "true");
  el("message").value = "";
  const turn = newTurn({
    threadId, graph, chatGraph: config.chat_graph, agent: isTeam ? null : name, request: text,
    customer: isTeam ? customer : null, coordinator,
  });
  showLive(turn, conversation.turns);
  conversation.turns.push(turn);

  const input = { messages: [{ role: "user", content: text }] };
  if (customer && isTeam) input.customer_id = customer;
  const body = { assistant_id: graph, input, stream_mode: STREAM_MODES };
  if (!isTeam) body.context = { agent: name };
  try {
    for await (const ev of streamRun(threadId, body, running.signal)) {
      applyStreamEvent(turn, ev);
      // Tokens of the reply node show as a draft until the checked reply arrives (the
      // composed one replaces a model reply that states anything unsupported).
      replyBox.textContent = turn.reply || turn.streamedReply || "…";
      replyBox.classList.toggle("drafting", !turn.reply && Boolean(turn.streamedReply));
      activitySummary(turn);
      update();
    }
    if (turn.error) throw new Error(turn.error);
  } catch (error) {
    turn.error = turn.error || error.message;
    replyBox.textContent = `The run failed: ${turn.error}`;
    replyBox.parentElement.classList.add("msg-error");
  } finally {
    finishTurn(turn);
    replyBox.removeAttribute("aria-busy");
    if (!turn.error) replyBox.textContent = turn.reply || turn.streamedReply || "(no reply)";
    replyBox.classList.remove("drafting");
    activitySummary(turn);
    update();
    running = null;
    el("send").disabled = false;
    el("message").focus();
  }
}

export function initTeam() {
  const config = getConfig();
  const target = el("target");
  for (const team of config.teams) {
    const lead = team.agents.find((a) => a.coordinator);
    const others = team.agents.filter((a) => !a.coordinator).map((a) => a.display_name);
    target.appendChild(h("option", { value: `team:${team.graph_id}` },
      `The ${team.team} team (${lead.display_name} coordinates ${others.join(" and ")})`));
  }
  for (const agent of teamOf(config.chat_graph).agents) {
    target.appendChild(h("option", { value: `chat:${agent.name}` }, `${agent.display_name} alone (${agent.role})`));
  }
  el("customers").appendChild(h("option", { value: config.demo.customer_id }));
  el("customer").value = config.demo.customer_id;
  target.addEventListener("change", () => {
    resetConversation();
    const [kind, name] = target.value.split(":");
    el("customer").disabled = kind !== "team";
    // whom a team's requests are about: a customer, an employee, ... (its subject label)
    const label = kind === "team" ? teamOf(name).subject_label : "customer";
    el("customer-label").textContent = `As ${label}`;
    el("customer").placeholder = kind === "team" && label !== "customer" ? "" : "e.g. 12345";
  });
  el("use-demo").addEventListener("click", () => {
    target.value = `team:${config.teams[0].graph_id}`;
    if (conversation.target !== target.value) resetConversation();
    el("customer").disabled = false;
    el("customer").value = config.demo.customer_id;
    el("message").value = config.demo.request;
    el("message").focus();
  });
  el("new-thread").addEventListener("click", resetConversation);
  el("send-form").addEventListener("submit", send);
  el("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) el("send-form").requestSubmit();
  });
  resetConversation();
}
