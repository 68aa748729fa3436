// The dataflow graph (values, activations, files; loops collapsed) and a backward slice
// from a chosen file or value: what it was computed from. Click a file or value node to
// slice from it.
import { api, esc } from "./util.js";
import { nodeByKey, renderDot } from "./graph.js";

const sliceOf = new Map(); // trial → what the slice starts from

export async function renderDataflow(target, state) {
  const trial = state.trial;
  const slice = sliceOf.get(trial) ?? null;
  const g = await api(`trial/${trial}/dataflow`, { slice });
  const opt = (v, label) => `<option value="${esc(v)}"${v === slice ? " selected" : ""}>${esc(label)}</option>`;
  target.innerHTML = `<div class="toolbar">
      <label>slice back from <select id="slice">
        <option value="">(no slice: the whole graph)</option>
        <optgroup label="files">${g.choices.files.map((f) => opt(f, f)).join("")}</optgroup>
        ${g.choices.values.length ? `<optgroup label="values (last)">${g.choices.values.map((v) => opt(v, v)).join("")}</optgroup>` : ""}
      </select></label>
      <span class="note">${esc(g.note || `${g.nodes} nodes`)}${g.granularity === "fine" ? "" : " · a coarse trial: activations and files only (now run --fine records values)"}</span>
    </div><div class="graph big" id="flow-graph"></div>`;
  const choose = (what) => {
    if (what) sliceOf.set(trial, what);
    else sliceOf.delete(trial);
    renderDataflow(target, state);
  };
  target.querySelector("#slice").addEventListener("change", (e) => choose(e.target.value));
  const box = target.querySelector("#flow-graph");
  const svg = await renderDot(box, g.dot, {
    toolbar: target.querySelector(".toolbar"),
    onClick: (key) => { if (/^(f\d+|v\d+|g:)/.test(key)) choose(key); },
  });
  const origin = svg && g.origin ? nodeByKey(svg, g.origin) : null;
  if (origin) {
    origin.classList.add("origin");
    origin.scrollIntoView({ block: "center", inline: "center" });
  }
  box.dataset.nodes = String(g.nodes);
  box.dataset.slice = slice ?? "";
}
