// Start-up and page switching (#team, #log, #memory), keyboard reachable links.

import { apiKey, getConfig, loadConfig, setApiKey } from "./api.js";
import { notify } from "./dom.js";
import { initLog, refreshThreads } from "./log.js";
import { initMemory, refreshNamespaces } from "./memory.js";
import { initTeam } from "./team.js";

const PAGES = ["team", "log", "memory"];

function show(page) {
  if (!PAGES.includes(page)) page = "team";
  for (const name of PAGES) {
    document.getElementById(`page-${name}`).hidden = name !== page;
    const link = document.querySelector(`nav a[data-page="${name}"]`);
    if (name === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${document.querySelector(`nav a[data-page="${page}"]`).textContent} · A2A Memory`;
  if (page === "log") refreshThreads();
  if (page === "memory") refreshNamespaces();
}

function initKey() {
  const input = document.getElementById("api-key");
  input.value = apiKey();
  if (getConfig().auth_required) input.placeholder = "required by this server";
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    notify(input.value.trim() ? "API key saved in this browser." : "API key removed.", "info");
    show(location.hash.slice(1));
  });
}

async function start() {
  try {
    await loadConfig();
  } catch (error) {
    notify(error.message);
    return;
  }
  document.getElementById("team-name").textContent = `· ${getConfig().teams.map((t) => t.team).join(", ")}`;
  initKey();
  initTeam();
  initLog();
  initMemory();
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  show(location.hash.slice(1));
  document.body.dataset.ready = "true";
}

start();
