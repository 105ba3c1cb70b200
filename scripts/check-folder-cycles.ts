/**
 * Fails when two folders import each other, directly or around a longer loop (Go forbids such cycles between
 * packages; here folders play the part of packages). The import graph is `deno info --json` of each entry point —
 * `mod.ts`, `cli/*.ts` and the proxy's worker — with type-only imports counted, since a type import ties two folders
 * together as much as a value import does. Prints each cycle with one importing file per edge and exits 1.
 *
 * Usage: `deno run -A scripts/check-folder-cycles.ts [--known=FOLDER ...] [extra-entry.ts ...]`
 *
 * `--known=FOLDER` tolerates (prints, without failing) a cycle that stays inside FOLDER and its subfolders: a known
 * debt being paid off (the proxy's, until its request path becomes a tower). Any other cycle fails.
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("..", import.meta.url));

interface InfoDependency {
  code?: { specifier: string };
  type?: { specifier: string };
}
interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** The entry points whose import graphs are checked. */
async function entryPoints(extra: string[]): Promise<string[]> {
  const entries = ["mod.ts"];
  for await (const e of Deno.readDir(join(ROOT, "cli"))) {
    if (e.isFile && e.name.endsWith(".ts")) entries.push(`cli/${e.name}`);
  }
  // Started with `new Worker(...)`, which `deno info` does not follow.
  const worker = "proxy/worker/worker_main.ts";
  if (await Deno.stat(join(ROOT, worker)).then(() => true, () => false)) entries.push(worker);
  return [...entries.sort(), ...extra];
}

async function moduleGraph(entry: string): Promise<InfoModule[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)).modules ?? [];
}

/** The repository folder of a `file://` specifier ("." for the root), or undefined outside the repository. */
function folderOf(specifier: string): string | undefined {
  if (!specifier.startsWith("file://")) return undefined;
  const rel = relative(ROOT, fromFileUrl(specifier));
  if (rel.startsWith("..")) return undefined;
  return dirname(rel);
}

/** Folder-level edges, each with one example `importer -> imported` file pair. */
export type FolderEdges = Map<string, Map<string, string>>;

/** Collects the folder edges of the given modules. */
export function folderEdges(modules: Iterable<InfoModule>): FolderEdges {
  const edges: FolderEdges = new Map();
  for (const m of modules) {
    const from = folderOf(m.specifier);
    if (from === undefined) continue;
    for (const d of m.dependencies ?? []) {
      for (const target of [d.code?.specifier, d.type?.specifier]) {
        if (!target) continue;
        const to = folderOf(target);
        if (to === undefined || to === from) continue;
        let out = edges.get(from);
        if (!out) edges.set(from, out = new Map());
        if (!out.has(to)) {
          out.set(to, `${relative(ROOT, fromFileUrl(m.specifier))} -> ${relative(ROOT, fromFileUrl(target))}`);
        }
      }
    }
  }
  return edges;
}

/** Strongly connected components with more than one folder (Tarjan), each sorted. */
export function folderCycles(edges: FolderEdges): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const nodes = new Set<string>([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])]);
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

/** One shortest loop through `start` inside `component`, as a list of folders ending where it began. */
function loopThrough(start: string, component: string[], edges: FolderEdges): string[] {
  const inside = new Set(component);
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        path.push(start);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/** Whether every folder of `cycle` is `known` or below it. */
function inside(cycle: string[], known: string): boolean {
  return cycle.every((f) => f === known || f.startsWith(known + "/"));
}

if (import.meta.main) {
  const known = Deno.args.filter((a) => a.startsWith("--known=")).map((a) => a.slice("--known=".length));
  const extra = Deno.args.filter((a) => !a.startsWith("--"));
  const modules = new Map<string, InfoModule>();
  const graphs = await Promise.all((await entryPoints(extra)).map(moduleGraph));
  for (const g of graphs) for (const m of g) modules.set(m.specifier, m);
  const edges = folderEdges(modules.values());
  const cycles = folderCycles(edges);
  const failing = cycles.filter((c) => !known.some((k) => inside(c, k)));
  for (const c of cycles) {
    const tolerated = !failing.includes(c);
    const out = tolerated ? console.log : console.error;
    out(`\n${tolerated ? "known folder cycle (tolerated)" : "folder cycle"}: ${c.join(" <-> ")}`);
    const loop = loopThrough(c[0], c, edges);
    for (let i = 0; i + 1 < loop.length; i++) {
      out(`  ${loop[i]} -> ${loop[i + 1]}   (${edges.get(loop[i])!.get(loop[i + 1])})`);
    }
  }
  if (failing.length > 0) {
    console.error(`\nfolder cycles: ${failing.length} (folders must import downward only)`);
    Deno.exit(1);
  }
  console.log(`folder cycles: none outside ${known.join(", ") || "-"} (${modules.size} modules)`);
}
