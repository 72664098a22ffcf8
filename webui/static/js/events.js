// The one module that reads what the graphs emit: custom stream events ("routing", "a2a",
// "memory_read", "memory_write", "sync", "reply", ...), node updates, message chunks, and
// for past turns the thread's saved state plus the team's A2A log. Everything becomes a
// Turn: a list of entries, each in one agent's lane, that log.js draws.

const REPLY_NODES = new Set(["synthesize_reply", "reply"]);
export const A2A_TYPES = {
  task: "application/vnd.a2a.task+json",
  result: "application/vnd.a2a.result+json",
  sync: "application/vnd.a2a.memory-sync+json",
};

export function newTurn({ threadId, graph, chatGraph, agent, request, customer, coordinator }) {
  return {
    threadId,
    graph,
    chat: graph === chatGraph,
    agent: agent || coordinator,
    coordinator,
    request,
    customer: customer || null,
    live: true,
    done: false,
    error: null,
    startedClient: Date.now() / 1000,
    t0: null, // the server clock at the first event seen
    entries: [],
    reply: "",
    replyFallback: false,
    streamedReply: "",
    intervals: {}, // agent -> {started, finished} of each specialist's work (server clock)
    totalMs: null,
  };
}

function lead(turn) {
  return turn.chat ? turn.agent : turn.coordinator;
}

function at(turn, when) {
  const t = typeof when === "number" ? when : Date.now() / 1000;
  if (turn.t0 === null || t < turn.t0) turn.t0 = t;
  return t;
}

function push(turn, entry) {
  turn.entries.push(entry);
  return entry;
}

function fromCustom(turn, data) {
  const when = at(turn, data.at);
  switch (data.event) {
    case "routing":
      return push(turn, {
        kind: "routing", lane: lead(turn), at: when,
        specialists: data.specialists || [], reason: data.reason || "", method: data.method || "",
      });
    case "a2a":
      return push(turn, {
        kind: "a2a", lane: data.source, at: when, source: data.source, target: data.target,
        contentType: data.content_type, text: data.text || "",
      });
    case "memory_read":
      return push(turn, {
        kind: "memory_read", lane: data.agent, at: when, content: data.content,
        score: data.score, confidence: data.confidence, memoryId: data.memory_id,
      });
    case "memory_write":
      return push(turn, {
        kind: "memory_write", lane: data.agent, at: when, action: data.action,
        content: data.content, scope: data.scope, confidence: data.confidence,
        memoryId: data.memory_id,
      });
    case "sync":
      return push(turn, {
        kind: "a2a", lane: data.source, at: when, source: data.source, target: data.target,
        contentType: A2A_TYPES.sync, text: data.content || "", confidence: data.confidence,
        memoryId: data.memory_id,
      });
    case "tool_call":
      return push(turn, {
        kind: "tool_call", lane: data.agent, at: when, tool: data.tool, args: data.args || {},
        ok: data.ok !== false, facts: data.facts || [],
      });
    case "grounding": {
      // What the check of a model's text found (nodes/grounding.py); a replaced draft was
      // not shown, so only the reasons are listed, never the draft itself.
      const problems = [
        ...(data.claims || []).map((c) => `unsupported ${c}`),
        ...(data.words || []).map((w) => `unsupported word ${w}`),
        ...(data.missing || []).map((m) => `missing ${m}`),
        ...(data.combinations || []).map((c) => `not stated together: ${c}`),
      ];
      return push(turn, {
        kind: "grounding", lane: data.agent || lead(turn), at: when, step: data.step || "",
        drafted: data.draft !== null && data.draft !== undefined,
        replaced: Boolean(data.replaced), problems: data.draft == null ? [] : problems,
      });
    }
    case "reply":
      turn.reply = data.text || "";
      turn.replyFallback = Boolean(data.fallback);
      return push(turn, { kind: "reply", lane: lead(turn), at: when, text: turn.reply, fallback: turn.replyFallback });
    default: {
      const { event, at: _ignored, agent, source, ...rest } = data;
      return push(turn, { kind: "other", lane: agent || source || lead(turn), at: when, name: event || "event", data: rest });
    }
  }
}

function fromUpdate(turn, node, update) {
  const now = Date.now() / 1000;
  const ms = Math.round((now - turn.startedClient) * 1000);
  let lane = lead(turn);
  const findings = (update && update.findings) || [];
  for (const finding of findings) {
    lane = finding.agent;
    turn.intervals[finding.agent] = { started: finding.started, finished: finding.finished };
    at(turn, finding.started);
  }
  push(turn, {
    kind: "node", lane, at: null, node, ms,
    tools: findings.flatMap((f) => (f.tool_calls || []).map((c) => c.tool)),
  });
  for (const step of (update && update.fallbacks) || []) {
    const agent = step.includes(":") ? step.split(":")[1] : lead(turn);
    push(turn, { kind: "fallback", lane: agent, at: null, step });
  }
  if (update && REPLY_NODES.has(node) && typeof update.reply === "string" && !turn.reply) {
    turn.reply = update.reply;
  }
}

// One server-sent event of runs/stream (stream_mode custom + updates + messages-tuple).
export function applyStreamEvent(turn, { event, data }) {
  if (event === "custom" && data && typeof data === "object") {
    fromCustom(turn, data);
  } else if (event === "updates" && data && typeof data === "object") {
    for (const [node, update] of Object.entries(data)) {
      if (node !== "__interrupt__") fromUpdate(turn, node, update);
    }
  } else if (event === "messages" && Array.isArray(data)) {
    const [chunk, metadata] = data;
    // Only the reply node's tokens are the answer; specialists' own text is not.
    if (metadata && REPLY_NODES.has(metadata.langgraph_node) && chunk && typeof chunk.content === "string") {
      turn.streamedReply += chunk.content;
    }
  } else if (event === "error") {
    turn.error = (data && (data.message || data.error)) || String(data);
  } else if (event === "metadata" && data && data.run_id) {
    turn.runId = data.run_id;
  }
}

export function finishTurn(turn) {
  turn.done = true;
  turn.live = false;
  turn.totalMs = Math.round((Date.now() / 1000 - turn.startedClient) * 1000);
}

// ---- past turns: a thread's saved states (and the A2A log when the key may read it) ----

function turnEnds(history) {
  // history is newest first; a turn ends at a checkpoint with nothing left to run.
  return history.filter((c) => Array.isArray(c.next) && c.next.length === 0 && c.values && c.values.request)
    .reverse();
}

function a2aFromLog(turn, messages) {
  for (const m of messages) {
    const payload = m.payload || {};
    let text = payload.task || payload.summary || "";
    if (m.content_type === A2A_TYPES.sync) {
      text = (payload.memories || []).map((x) => x.content).join("; ");
    }
    push(turn, {
      kind: "a2a", lane: m.source_agent, at: Date.parse(m.created) / 1000,
      source: m.source_agent, target: m.target_agent, contentType: m.content_type, text,
    });
  }
}

export function turnsFromHistory({ threadId, graph, chatGraph, agent, coordinator, history, logFor }) {
  const turns = [];
  for (const checkpoint of turnEnds(history)) {
    const v = checkpoint.values;
    const retrievedAgent = (v.retrieved && v.retrieved[0] && v.retrieved[0].agent) || agent;
    const turn = newTurn({ threadId, graph, chatGraph, agent: retrievedAgent, request: v.request, customer: v.customer_id, coordinator });
    turn.live = false;
    turn.done = true;
    turn.createdAt = checkpoint.created_at;
    if (v.routing) {
      push(turn, { kind: "routing", lane: lead(turn), at: null, ...v.routing });
    }
    for (const m of v.retrieved || []) {
      push(turn, { kind: "memory_read", lane: m.agent, at: null, content: m.content, score: m.score, confidence: m.confidence, memoryId: m.memory_id });
    }
    const log = (v.correlation_id && logFor && logFor(v.correlation_id)) || null;
    const findings = v.findings || [];
    if (log && log.length) {
      a2aFromLog(turn, log.filter((m) => m.content_type === A2A_TYPES.task));
    } else {
      for (const f of findings) {
        push(turn, { kind: "a2a", lane: lead(turn), at: null, source: lead(turn), target: f.agent, contentType: A2A_TYPES.task, text: "" });
      }
    }
    for (const f of findings) {
      turn.intervals[f.agent] = { started: f.started, finished: f.finished };
      at(turn, f.started);
      for (const m of f.memories_read || []) {
        push(turn, { kind: "memory_read", lane: f.agent, at: null, content: m.content, score: m.score, confidence: m.confidence, memoryId: m.memory_id });
      }
      for (const call of f.tool_calls || []) {
        const result = call.result || {};
        push(turn, { kind: "tool_call", lane: f.agent, at: null, tool: call.tool, args: call.args || {}, ok: !("error" in result), facts: [] });
      }
      push(turn, { kind: "node", lane: f.agent, at: null, node: f.agent, ms: Math.round((f.finished - f.started) * 1000), tools: [], duration: true });
      if (!(log && log.length)) {
        push(turn, { kind: "a2a", lane: f.agent, at: f.finished, source: f.agent, target: lead(turn), contentType: A2A_TYPES.result, text: f.summary });
      }
    }
    if (log && log.length) {
      a2aFromLog(turn, log.filter((m) => m.content_type === A2A_TYPES.result));
    }
    for (const w of v.written || []) {
      push(turn, { kind: "memory_write", lane: w.agent, at: null, action: w.action, content: w.content, scope: w.scope, memoryId: w.memory_id });
    }
    if (log && log.length) {
      a2aFromLog(turn, log.filter((m) => m.content_type === A2A_TYPES.sync));
    } else {
      for (const s of v.synced || []) {
        const [target] = s.split(":");
        push(turn, { kind: "a2a", lane: "", at: null, source: "", target, contentType: A2A_TYPES.sync, text: "" });
      }
    }
    for (const step of v.fallbacks || []) {
      const lane = step.includes(":") ? step.split(":")[1] : lead(turn);
      push(turn, { kind: "fallback", lane, at: null, step });
    }
    if (v.reply) {
      turn.reply = v.reply;
      push(turn, { kind: "reply", lane: lead(turn), at: null, text: v.reply, fallback: (v.fallbacks || []).includes("synthesis") });
    }
    turns.push(turn);
  }
  return turns;
}
