/**
 * How to start a worker thread on a module that may be TypeScript. Compiled .js runs load the
 * worker's .js file directly. Under tsx (the npm scripts, the Docker image) or vitest, Node 20
 * does not give a worker tsx's loader hooks in time, neither inherited nor through
 * `execArgv: ['--import', 'tsx']` ("Unknown file extension .ts"), so the worker starts from a tiny
 * eval'd bootstrap that calls tsx's register() and then imports the .ts file. tsx is found through
 * its own package exports at run time, not imported, so production code does not load it unless
 * it already runs under it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/** `moduleUrl` is the caller's import.meta.url; `name` the worker file's base name without extension. */
export function workerEntry(moduleUrl: string, name: string): { code: string | URL; eval: boolean } {
  if (!moduleUrl.endsWith(".ts")) return { code: new URL(`./${name}.js`, moduleUrl), eval: false };
  const worker = new URL(`./${name}.ts`, moduleUrl).href;
  const bootstrap =
    `import(${JSON.stringify(tsxEsmApiUrl(moduleUrl))})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`;
  return { code: bootstrap, eval: true };
}

/** tsx's ESM API through its exports map: createRequire alone would pick the CommonJS build, whose register() does not work from ESM. */
function tsxEsmApiUrl(moduleUrl: string): string {
  const require = createRequire(moduleUrl);
  const pkgPath = require.resolve("tsx/package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { exports: Record<string, string | { import?: { default?: string } }> };
  const entry = pkg.exports["./esm/api"];
  const rel = typeof entry === "string" ? entry : entry?.import?.default;
  if (!rel) throw new Error("cannot find tsx/esm/api (needed to run a .ts worker thread)");
  return new URL(rel, pathToFileURL(pkgPath)).href;
}
