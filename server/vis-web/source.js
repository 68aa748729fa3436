// The code a trial ran, with what the editor's hover says: values, calls, file accesses.
// The last value of each line is shown at its end (fine trials).
import { api, esc } from "./util.js";

const KEYWORDS = new Set("False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield".split(" "));
const TOKEN = /([A-Za-z_][A-Za-z0-9_]*)|((?:[rbfuRBFU]{1,2})?(?:"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?))|(#.*$)|(\d[\d_.eExXa-fA-F]*)|(\s+|.)/g;
const fileOf = new Map(); // trial → the file shown

function highlight(line, no) {
  let out = "";
  for (const m of line.matchAll(TOKEN)) {
    const [text, id, str, com, num] = m;
    const at = `data-line="${no}" data-col="${m.index}"`;
    if (id) out += KEYWORDS.has(id) ? `<span class="kw">${esc(text)}</span>` : `<span class="id" ${at}>${esc(text)}</span>`;
    else if (str) out += `<span class="str" ${at}>${esc(text)}</span>`;
    else if (com) out += `<span class="com">${esc(text)}</span>`;
    else if (num) out += `<span class="num">${esc(text)}</span>`;
    else out += esc(text);
  }
  return out;
}

export async function renderSource(target, state) {
  const trial = state.trial;
  const files = await api(`trial/${trial}/sources`);
  if (!files.length) {
    target.innerHTML = `<p class="note">No stored source for this trial.</p>`;
    return;
  }
  const path = files.some((f) => f.path === fileOf.get(trial)) ? fileOf.get(trial) : files[0].path;
  const src = await api(`trial/${trial}/source`, { path });
  const values = new Map();
  for (const v of src.values) values.set(v.line, [...(values.get(v.line) ?? []), v]);
  const lines = src.text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  target.innerHTML = `<div class="toolbar"><select id="src-file">${files.map((f) =>
    `<option value="${esc(f.path)}"${f.path === path ? " selected" : ""}>${esc(f.path)} (${esc(f.role)})</option>`).join("")}</select>
    <span class="note">as trial ${trial} ran it · hover a name or a file name for what the trial recorded</span></div>
    <div class="code" id="src">${lines.map((l, i) => {
      const vs = (values.get(i + 1) ?? []).map((v) => `${v.target} = ${v.value ?? "…"}${v.count > 1 ? ` (×${v.count})` : ""}`).join("; ");
      return `<div class="ln"><span class="no">${i + 1}</span><span>${highlight(l, i)}</span>${vs ? `<span class="val">${esc(vs.length > 90 ? vs.slice(0, 89) + "…" : vs)}</span>` : ""}</div>`;
    }).join("")}</div>`;
  target.querySelector("#src-file").addEventListener("change", (e) => { fileOf.set(trial, e.target.value); renderSource(target, state); });
  const tip = document.getElementById("tooltip");
  const cache = new Map();
  let current = null;
  const code = target.querySelector("#src");
  code.addEventListener("mouseover", async (ev) => {
    const span = ev.target.closest("[data-line]");
    if (!span) return;
    current = span;
    const key = `${span.dataset.line}:${span.dataset.col}`;
    if (!cache.has(key)) {
      cache.set(key, api(`trial/${trial}/hover`, { path, line: span.dataset.line, character: Number(span.dataset.col) + (span.classList.contains("str") ? 1 : 0) }).catch(() => null));
    }
    const h = await cache.get(key);
    if (current !== span) return;
    if (!h) return void (tip.hidden = true);
    tip.textContent = h.text;
    const r = span.getBoundingClientRect();
    tip.style.left = `${Math.min(r.left, innerWidth - 660)}px`;
    tip.style.top = `${r.bottom + 4}px`;
    tip.hidden = false;
  });
  code.addEventListener("mouseout", (ev) => {
    if (ev.target.closest("[data-line]") === current) {
      current = null;
      tip.hidden = true;
    }
  });
}
