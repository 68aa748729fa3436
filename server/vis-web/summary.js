// A trial's summary: command, status, duration, deployment, modules, file accesses.
import { api, esc, short, statusSpan, table } from "./util.js";

export async function renderSummary(target, state) {
  const s = await api(`trial/${state.trial}`);
  const t = s.trial;
  const d = s.deployment ?? {};
  const rows = [
    ["command", { html: `<code>${esc(t.command)}</code>` }],
    ["status", { html: statusSpan(t) + (t.exception_type ? ` — <code>${esc(t.exception_type)}: ${esc(t.exception_message ?? "")}</code>` : "") }],
    ["started", t.started], ["duration", t.durationText], ["recorded", `${t.granularity}${t.core ? `, tracer core ${t.core}` : ""}`],
    ["parent trial", t.parent ?? "–"], ["tags", t.tags.join(", ") || "–"], ["uuid", t.uuid],
    ["activations", `${s.counts.activations} (${s.counts.functions} functions)`],
    ["values", t.granularity === "fine" ? `${s.counts.values}${s.counts.elided ? ` (+${s.counts.elided} elided in loops)` : ""}` : "– (coarse trial)"],
  ];
  const deploy = [
    ["Python", `${d.py_implementation ?? ""} ${d.py_version ?? ""}`.trim() || "–"], ["interpreter", t.python],
    ["executable", d.py_executable ?? "–"], ["system", [d.os_system, d.os_release, d.machine].filter(Boolean).join(" ") || "–"],
    ["host", d.hostname ?? "–"], ["cwd", t.cwd], ["environment", `${s.counts.environment} variables (secrets redacted)`],
  ];
  const local = s.modules.filter((m) => m.local);
  const others = s.modules.filter((m) => !m.local);
  const modRow = (m) => [m.name, m.version ?? "", m.path ?? "", short(m.hash)];
  target.innerHTML = `
    <h3>Trial ${t.id}</h3>${table([], rows, "kv")}
    ${s.notes.length ? `<h3>Notes</h3><ul>${s.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
    ${s.warnings.length ? `<h3>Warnings</h3><ul>${s.warnings.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
    <h3>Deployment</h3>${table([], deploy, "kv")}
    <h3>File accesses (${s.files.length})</h3>
    ${s.files.length ? table(["path", "mode", "before", "after", "by"], s.files.map((f) => [
      f.path, f.mode, short(f.before), f.after === f.before ? "unchanged" : short(f.after) + (f.closedAtExit ? " (at exit)" : ""),
      f.function ? `${f.function} #${f.activation}` : "",
    ])) : `<p class="note">none</p>`}
    <h3>Modules (${s.modules.length}: ${local.length} local)</h3>
    ${local.length ? table(["local module", "version", "path", "hash"], local.map(modRow)) : ""}
    <details><summary>${others.length} other modules</summary>${table(["module", "version", "path", "hash"], others.map(modRow))}</details>`;
}
