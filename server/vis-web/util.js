// Shared helpers: the JSON API (relative URLs keep the token), HTML escaping, tables.
export async function api(route, params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
  const res = await fetch(`api/${route}${q.size ? "?" + q : ""}`, { headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error ?? `${res.status} ${res.statusText}`);
  return body;
}

export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** A table from rows of cells (strings are escaped; {html} is used as is). */
export function table(head, rows, cls = "grid") {
  const cell = (c) => (c && typeof c === "object" && "html" in c ? c.html : esc(c));
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

export const short = (h) => (h ? String(h).slice(0, 10) : "–");

export function statusSpan(t) {
  return `<span class="status-${esc(t.status)}">${esc(t.statusText ?? t.status)}</span>`;
}

export function errorBox(target, e) {
  target.innerHTML = `<p class="error">${esc(e.message ?? e)}</p>`;
}
