// The activation graph: calls as a tree, coloured by their share of the trial's time,
// loops summarised ("f ×N"), collapsed beyond a budget. Click a node to expand or
// collapse it; the server lays out only what is shown.
import { api, esc } from "./util.js";
import { renderDot } from "./graph.js";

const expandedOf = new Map(); // trial → keys the user opened (absent: the server's default)
const FILLS = ["#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603"];

export async function renderActivations(target, state) {
  const trial = state.trial;
  target.innerHTML = `<div class="toolbar"><span class="note" id="act-note">laying out…</span>
    <button id="act-reset">collapse all</button>
    <span class="legend">share of the run's time: 0 ${FILLS.map((_, i) => `<i class="f${i}"></i>`).join("")} 100%</span></div>
    <div class="graph big" id="act-graph"></div>`;
  const box = target.querySelector("#act-graph");
  const toolbar = target.querySelector(".toolbar");
  target.querySelector("#act-reset").addEventListener("click", () => { expandedOf.set(trial, []); draw(); });
  async function draw() {
    const keys = expandedOf.get(trial);
    const started = performance.now();
    const g = await api(`trial/${trial}/activations`, keys === undefined ? {} : { expand: keys.join(",") });
    expandedOf.set(trial, g.expanded);
    await renderDot(box, g.dot, {
      toolbar,
      onClick: (key) => {
        const node = g.nodes.find((n) => n.key === key);
        if (!node || !node.expandable) return;
        const open = new Set(expandedOf.get(trial));
        if (open.has(key)) open.delete(key);
        else open.add(key);
        expandedOf.set(trial, [...open]);
        draw();
      },
    });
    const shown = g.nodes.filter((n) => n.kind === "activation").length + g.nodes.filter((n) => n.kind === "group").reduce((s, n) => s + n.calls, 0);
    target.querySelector("#act-note").innerHTML =
      `${g.nodes.length} nodes for ${g.total} activations (${esc(Math.round(performance.now() - started))} ms). ` +
      `Click a node with “+N inside” to expand it, again to collapse; “f ×N” is a loop's calls.` +
      (g.elided?.length ? ` Counted, not recorded (beyond --calls-keep): ${g.elided.map((e) => `${esc(e.qualname)} ×${e.count}`).join(", ")}.` : "");
    box.dataset.nodes = String(g.nodes.length);
    void shown;
  }
  await draw();
}
