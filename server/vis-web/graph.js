// Graph layout by Graphviz compiled to WebAssembly (@hpcc-js/wasm-graphviz, served from
// node_modules): the server writes dot with node names as keys, the browser lays it out.
let loading = null;

function graphviz() {
  if (!loading) loading = import("./lib/graphviz.js").then((m) => m.Graphviz.load());
  return loading;
}

/**
 * Renders `dot` into `target` and calls `onClick(key, event)` for a click on a node.
 * Returns the SVG element; zoom buttons are added when `toolbar` is given.
 */
export async function renderDot(target, dot, { onClick, toolbar, fitWidth } = {}) {
  const gv = await graphviz();
  const svgText = gv.dot(dot);
  target.innerHTML = svgText;
  const svg = target.querySelector("svg");
  if (!svg) return null;
  const box = svg.viewBox.baseVal;
  let zoom = fitWidth ? Math.min(1, (target.clientWidth - 4) / box.width) : 1;
  const apply = () => {
    svg.setAttribute("width", `${Math.max(10, box.width * zoom)}px`);
    svg.setAttribute("height", `${Math.max(10, box.height * zoom)}px`);
  };
  if (toolbar) {
    toolbar.querySelectorAll(".zoom").forEach((b) => b.remove());
    const button = (label, f) => {
      const b = document.createElement("button");
      b.className = "zoom";
      b.textContent = label;
      b.addEventListener("click", () => { f(); apply(); });
      toolbar.append(b);
    };
    button("−", () => (zoom /= 1.25));
    button("+", () => (zoom *= 1.25));
    button("fit", () => (zoom = Math.min(1, (target.clientWidth - 4) / box.width, (target.clientHeight - 4) / box.height)));
    button("1:1", () => (zoom = 1));
  }
  apply();
  for (const g of svg.querySelectorAll("g.node")) {
    const key = g.querySelector("title")?.textContent ?? "";
    g.dataset.key = key;
    if (onClick) g.addEventListener("click", (ev) => onClick(key, ev));
  }
  return svg;
}

export function nodeByKey(svg, key) {
  return [...svg.querySelectorAll("g.node")].find((g) => g.dataset.key === key) ?? null;
}
