// The trials' derivation graph (a restore starts a branch): click selects a trial,
// shift-click compares it with the selected one.
import { api } from "./util.js";
import { renderDot } from "./graph.js";

export async function renderHistory(target, state, app) {
  const { dot } = await api("history");
  const svg = await renderDot(target, dot, {
    fitWidth: true,
    onClick: (key, ev) => {
      const id = Number(key.replace(/^t/, ""));
      if (ev.shiftKey) app.compareWith(id);
      else app.select(id);
    },
  });
  const mark = () => {
    if (!svg) return;
    for (const g of svg.querySelectorAll("g.node")) {
      g.classList.toggle("selected", g.dataset.key === `t${state.trial}`);
      g.classList.toggle("compared", state.view === "diff" && state.compare !== null && g.dataset.key === `t${state.compare}`);
    }
  };
  target.mark = mark; // called again when the selection changes
  mark();
}
