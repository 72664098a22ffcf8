// The one place that talks to the LangGraph server: its own APIs (threads, runs with
// streaming, the store), with the caller's API key under the header the server names.

let config = null;
const KEY_STORAGE = "a2a-memory.api-key";

export async function loadConfig() {
  const response = await fetch("/ui/config.json", { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`the server did not give the UI its configuration (${response.status})`);
  config = await response.json();
  return config;
}

export function getConfig() {
  return config;
}

// The team a graph runs: a team graph's own, and the chat graph's team for "chat".
export function teamOf(graphId) {
  const teams = config.teams;
  const wanted = graphId === config.chat_graph ? config.chat_team : null;
  return teams.find((t) => t.graph_id === graphId) || teams.find((t) => t.team === wanted) || teams[0];
}

export function agentName(name) {
  for (const team of config.teams) {
    const agent = team.agents.find((a) => a.name === name);
    if (agent) return agent.display_name;
  }
  return name || "?";
}

export function coordinatorOf(team) {
  return team.agents.find((a) => a.coordinator).name;
}

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

function headers(extra = {}) {
  const out = { "Content-Type": "application/json", Accept: "application/json", ...extra };
  const key = apiKey();
  if (key && config) out[config.api_key_header] = key;
  return out;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function explain(response) {
  let detail = "";
  try {
    const body = await response.json();
    detail = body.detail || body.message || body.error || JSON.stringify(body);
  } catch {
    detail = response.statusText;
  }
  if (response.status === 401) return "the server needs an API key (enter it at the top right)";
  if (response.status === 403) return `not allowed with this API key: ${detail}`;
  return `${response.status}: ${detail}`;
}

export async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: headers(),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new ApiError(response.status, await explain(response));
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

// Server-sent events of a streaming run: yields {event, data} as they arrive.
export async function* streamRun(threadId, body, signal) {
  const response = await fetch(`/threads/${encodeURIComponent(threadId)}/runs/stream`, {
    method: "POST",
    headers: headers({ Accept: "text/event-stream" }),
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw new ApiError(response.status, await explain(response));
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const parsed = parseBlock(block);
      if (parsed) yield parsed;
    }
  }
}

function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return null;
  try {
    return { event, data: JSON.parse(data.join("\n")) };
  } catch {
    return { event, data: data.join("\n") };
  }
}

export const threads = {
  create: (metadata) => call("POST", "/threads", { metadata }),
  search: (limit = 40) =>
    call("POST", "/threads/search", { limit, sort_by: "updated_at", sort_order: "desc" }),
  history: (threadId, limit = 100) =>
    call("POST", `/threads/${encodeURIComponent(threadId)}/history`, { limit }),
};

export const store = {
  namespaces: (prefix) => call("POST", "/store/namespaces", { prefix, limit: 200 }),
  search: (namespacePrefix, { query, filter, limit = 50, offset = 0 } = {}) =>
    call("POST", "/store/items/search", {
      namespace_prefix: namespacePrefix,
      query: query || undefined,
      filter: filter || undefined,
      limit,
      offset,
    }),
};

// Forget with the full cascade (copies, superseded history, A2A log redaction): staff only.
export const forgetMemory = (team, memoryId) =>
  call("POST", `/api/teams/${encodeURIComponent(team)}/memories/${encodeURIComponent(memoryId)}/forget`);
