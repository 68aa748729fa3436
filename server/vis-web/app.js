// The page: the history in the side bar, one view at a time on the right, the state in
// the address's #fragment (so a reload keeps it), and the event stream that brings in
// trials as they end.
import { api, esc, errorBox } from "./util.js";
import { renderHistory } from "./history.js";
import { renderSummary } from "./summary.js";
import { renderActivations } from "./activation.js";
import { renderDataflow } from "./dataflow.js";
import { renderDiff } from "./diff.js";
import { renderSource } from "./source.js";

const VIEWS = { summary: renderSummary, activations: renderActivations, dataflow: renderDataflow, source: renderSource, diff: renderDiff };

let generation = 0;

export const state = { trial: null, compare: null, view: "summary", trials: [] };

function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get("trial")) state.trial = Number(h.get("trial"));
  if (h.get("compare")) state.compare = Number(h.get("compare"));
  if (VIEWS[h.get("view")]) state.view = h.get("view");
}

function writeHash() {
  const h = new URLSearchParams();
  if (state.trial !== null) h.set("trial", state.trial);
  if (state.compare !== null) h.set("compare", state.compare);
  h.set("view", state.view);
  history.replaceState(null, "", `#${h}`);
}

export const app = {
  select(id) {
    state.trial = id;
    app.show();
  },
  /** Shift-click: the selected trial against the clicked one, which becomes the selection. */
  compareWith(id) {
    if (state.trial !== null && state.trial !== id) state.compare = state.trial;
    state.trial = id;
    state.view = "diff";
    app.show();
  },
  setView(v) {
    state.view = v;
    app.show();
  },
  async refreshTrials() {
    const before = state.trials.find((t) => t.id === state.trial);
    state.trials = await api("trials");
    const after = state.trials.find((t) => t.id === state.trial);
    // The selected trial ended (or changed) while shown: show it again.
    const changed = before && after && (before.status !== after.status || before.tags.join() !== after.tags.join());
    if (state.trial === null || !state.trials.some((t) => t.id === state.trial)) state.trial = state.trials.at(-1)?.id ?? null;
    await renderHistory(document.getElementById("history"), state, app);
    if (changed) await app.show();
  },
  async show() {
    writeHash();
    document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.view === state.view));
    const t = state.trials.find((x) => x.id === state.trial);
    document.getElementById("selected").innerHTML = t ? `trial <b>${t.id}</b> · ${esc(t.script)} ${esc(t.args.join(" "))}` : "no trials yet";
    document.getElementById("history").mark?.();
    // Each view renders into a pane of its own: a slower view the user left behind
    // finishes in a pane no longer on the page.
    const gen = ++generation;
    const view = document.getElementById("view");
    const pane = document.createElement("div");
    view.replaceChildren(pane);
    view.dataset.view = state.view;
    view.dataset.ready = "false";
    try {
      if (t || state.view === "diff") await VIEWS[state.view](pane, state, app);
      else pane.innerHTML = `<p class="note">No trials recorded yet: run <code>now run script.py</code>.</p>`;
    } catch (e) {
      errorBox(pane, e);
    }
    if (gen === generation) view.dataset.ready = "true";
  },
};

let toastTimer = null;
function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 6000);
}

function listen() {
  const live = document.getElementById("live");
  const events = new EventSource("api/events");
  events.onopen = () => live.classList.add("on");
  events.onerror = () => live.classList.remove("on");
  let pending = null;
  const refresh = () => {
    clearTimeout(pending);
    pending = setTimeout(() => app.refreshTrials().catch(() => {}), 100);
  };
  events.addEventListener("trial", (e) => {
    const t = JSON.parse(e.data);
    toast(`trial ${t.id} ${t.status}: ${t.script}`);
    refresh();
  });
  events.addEventListener("trials", refresh);
}

async function main() {
  readHash();
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => app.setView(b.dataset.view));
  document.getElementById("project").textContent = location.host;
  await app.refreshTrials();
  listen();
  await app.show();
  document.body.dataset.ready = "true";
}

main().catch((e) => errorBox(document.getElementById("view"), e));
