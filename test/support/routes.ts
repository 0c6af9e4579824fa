// Every route a running server has, read from Fastify's own router: `printRoutes()` draws the
// radix tree of find-my-way, where a route's URL is the concatenation of the node labels on the
// way down and a node that ends a route lists its methods. Reading the router (rather than a
// list written here) means a route added anywhere is covered by the tests that walk them.
import type { FastifyInstance } from 'fastify';

export interface RouteInfo {
  /** The URL pattern as registered: `/v1/files/get`, `/upload/mkblk/:blockSize`, `/dl/*`. */
  url: string;
  /** Methods answered at that URL, upper case, sorted. */
  methods: string[];
}

// One line of the drawing: an indent of "│   " / "    " per level, a branch, the node label
// and, when the node ends routes, their methods.
const LINE_RE = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/;

/** Parses `printRoutes()` (default options) into routes. Throws on a line it does not understand. */
export function parseRouteTree(tree: string): RouteInfo[] {
  const prefixes: string[] = [];
  const routes: RouteInfo[] = [];
  for (const line of tree.split('\n')) {
    if (line.trim() === '') continue;
    const m = LINE_RE.exec(line);
    if (!m) throw new Error(`Unexpected line in the route tree: ${JSON.stringify(line)}`);
    const depth = m[1].length / 4;
    if (depth > prefixes.length) throw new Error(`The route tree skips a level at: ${JSON.stringify(line)}`);
    prefixes.length = depth;
    const url = (prefixes[depth - 1] ?? '') + m[2];
    prefixes.push(url);
    if (m[3])
      routes.push({
        url,
        methods: m[3]
          .split(',')
          .map((s) => s.trim())
          .sort(),
      });
  }
  return routes;
}

/** The routes of a ready server, each checked against the router so a misread tree fails loudly. */
export function listRoutes(app: FastifyInstance): RouteInfo[] {
  const routes = parseRouteTree(app.printRoutes());
  for (const r of routes) {
    for (const method of r.methods) {
      if (!app.hasRoute({ method: method as 'GET', url: r.url })) throw new Error(`The route tree names ${method} ${r.url}, which the router does not have.`);
    }
  }
  return routes;
}

/** A concrete URL for a pattern: parameters and wildcards filled with harmless values. */
export function concreteUrl(pattern: string): string {
  return pattern.replace(/:[A-Za-z0-9_]+/g, '1').replace(/\*$/, 'x');
}
