/** A small directed graph with the traversals the analyses need. Keys are strings. */
export class Digraph<N> {
  readonly nodes = new Map<string, N>();
  private readonly out = new Map<string, Set<string>>();
  private readonly in = new Map<string, Set<string>>();

  addNode(key: string, node: N): void {
    if (!this.nodes.has(key)) this.nodes.set(key, node);
  }

  addEdge(from: string, to: string): void {
    if (from === to || !this.nodes.has(from) || !this.nodes.has(to)) return;
    if (!this.out.has(from)) this.out.set(from, new Set());
    if (!this.in.has(to)) this.in.set(to, new Set());
    this.out.get(from)!.add(to);
    this.in.get(to)!.add(from);
  }

  edges(): [string, string][] {
    const list: [string, string][] = [];
    for (const [from, tos] of this.out) for (const to of tos) list.push([from, to]);
    return list;
  }

  predecessors(key: string): Iterable<string> {
    return this.in.get(key) ?? [];
  }

  /** Every node `key` depends on (backward reachability), with its distance. */
  ancestors(keys: string[], maxDepth = Infinity): Map<string, number> {
    const seen = new Map<string, number>(keys.map((k) => [k, 0]));
    let frontier = keys;
    for (let depth = 1; frontier.length && depth <= maxDepth; depth++) {
      const next: string[] = [];
      for (const k of frontier) {
        for (const p of this.predecessors(k)) {
          if (!seen.has(p)) {
            seen.set(p, depth);
            next.push(p);
          }
        }
      }
      frontier = next;
    }
    return seen;
  }

  /**
   * The graph restricted to the nodes `keep` accepts, with an edge between two kept nodes
   * wherever a path joined them through dropped ones.
   */
  contract(keep: (key: string, node: N) => boolean): Digraph<N> {
    const g = new Digraph<N>();
    for (const [k, n] of this.nodes) if (keep(k, n)) g.addNode(k, n);
    for (const k of g.nodes.keys()) {
      // Walk backward through dropped nodes to the nearest kept ones.
      const stack = [...this.predecessors(k)];
      const seen = new Set<string>(stack);
      while (stack.length) {
        const p = stack.pop()!;
        if (g.nodes.has(p)) {
          g.addEdge(p, k);
          continue;
        }
        for (const q of this.predecessors(p)) {
          if (!seen.has(q)) {
            seen.add(q);
            stack.push(q);
          }
        }
      }
    }
    return g;
  }
}
