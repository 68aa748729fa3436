// Two trials compared: code side by side, arguments, deployment, modules, environment,
// files, activations per function, duration.
import { api, esc, short, table } from "./util.js";

export async function renderDiff(target, state, app) {
  const trials = state.trials;
  if (trials.length < 2) {
    target.innerHTML = `<p class="note">A diff needs two trials.</p>`;
    return;
  }
  const b = state.trial ?? trials.at(-1).id;
  let a = state.compare;
  if (a === null || a === b) {
    const tb = trials.find((t) => t.id === b);
    a = tb?.parent && tb.parent !== b ? tb.parent : (trials.filter((t) => t.id < b).at(-1) ?? trials.find((t) => t.id !== b)).id;
  }
  const pick = (id, which) => `<select id="${which}">${trials.map((t) =>
    `<option value="${t.id}"${t.id === id ? " selected" : ""}>${t.id} · ${esc(t.script)} ${esc(t.args.join(" "))}</option>`).join("")}</select>`;
  target.innerHTML = `<div class="toolbar">compare ${pick(a, "diff-a")} → ${pick(b, "diff-b")}</div><div id="diff-body">loading…</div>`;
  target.querySelector("#diff-a").addEventListener("change", (e) => { state.compare = Number(e.target.value); app.show(); });
  target.querySelector("#diff-b").addEventListener("change", (e) => { state.trial = Number(e.target.value); app.show(); });
  state.compare = a;
  document.getElementById("history").mark?.();
  const d = await api("diff", { a, b });
  const change = (c, f = (x) => x) => [c.name, { html: c.before === null ? "–" : `<span class="before">${esc(f(c.before))}</span>` }, { html: c.after === null ? "–" : `<span class="after">${esc(f(c.after))}</span>` }];
  const section = (title, list, head = ["", `trial ${a}`, `trial ${b}`], f) =>
    `<h3>${esc(title)}</h3>` + (list.length ? table(head, list.map((c) => change(c, f))) : `<p class="note">no difference</p>`);
  const code = d.code.map((c) => {
    const rows = c.rows === null ? `<p class="note">the text of one side is not stored</p>` : `<table class="sbs">
      <colgroup><col class="n"><col><col class="n"><col></colgroup>
      <thead><tr><th></th><th>trial ${a}</th><th></th><th>trial ${b}</th></tr></thead><tbody>${c.rows.map((r) =>
        `<tr class="${r.kind}"><td class="n">${r.left ? r.left[0] : ""}</td><td class="l">${r.left ? esc(r.left[1]) : ""}</td>` +
        `<td class="n">${r.right ? r.right[0] : ""}</td><td class="r">${r.right ? esc(r.right[1]) : ""}</td></tr>`).join("")}</tbody></table>`;
    return `<h4 class="mono">${esc(c.path)} <small class="note">(${esc(c.role)}, ${esc(c.change)})</small></h4>${rows}`;
  }).join("");
  const files = d.files.map((f) => [f.path, `${f.modeA ?? "–"} / ${f.modeB ?? "–"}`,
    f.inputChanged ? `input ${short(f.beforeA)} → ${short(f.beforeB)}` : f.outputChanged ? `output ${short(f.afterA)} → ${short(f.afterB)}` : f.modeA === null ? `only in trial ${b}` : `only in trial ${a}`]);
  target.querySelector("#diff-body").innerHTML = `
    <h3>Code</h3>${code || `<p class="note">same script and local modules</p>`}
    <h3>Arguments</h3>${d.arguments ? table(["", "arguments"], [[`trial ${a}`, d.arguments.before.join(" ")], [`trial ${b}`, d.arguments.after.join(" ")]]) : `<p class="note">same arguments</p>`}
    <h3>Duration</h3><p>${esc(d.a.durationText)} → ${esc(d.b.durationText)}</p>
    ${section("Deployment", d.deployment)}
    ${section("Modules", d.modules, ["module", `trial ${a}`, `trial ${b}`])}
    ${section("Environment", d.environment, ["variable", `trial ${a}`, `trial ${b}`])}
    <h3>Files</h3>${files.length ? table(["path", "modes", "what differs"], files) : `<p class="note">same inputs and outputs</p>`}
    ${section("Activations per function", d.activations, ["function", `trial ${a}`, `trial ${b}`], String)}`;
  target.querySelector("#diff-body").dataset.ready = "true";
}
