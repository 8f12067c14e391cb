/**
 * Debian's Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no
 * browser download, no npm dependency. The command-line --screenshot cannot do a phone: headless
 * Chromium keeps windows at least 500 px wide, so the viewport is set with
 * Emulation.setDeviceMetricsOverride instead, which is what puppeteer and playwright do.
 *
 * Used by scripts/screenshots.ts (the PNGs in docs/screenshots) and test/outreach-layout.test.ts
 * (nothing wider than the phone).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable, Writable } from "node:stream";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH`;
}

export interface PageMetrics {
  viewportWidth: number;
  scrollWidth: number;
  scrollHeight: number;
  /** Bottom of the body: the page's own height even when it is shorter than the viewport. */
  contentHeight: number;
  /** Elements whose right edge lies beyond the viewport (tag, a bit of text, the edge). */
  overflowing: { tag: string; text: string; right: number }[];
}

export interface RenderedPage {
  metrics: PageMetrics;
  /** Evaluates an expression in the page (JSON-serialisable result). */
  evaluate<T>(expression: string): Promise<T>;
  /** PNG of the page at the viewport's width: the whole page, or `height` px from `y`. */
  screenshot(part?: { y: number; height: number }): Promise<Buffer>;
  close(): Promise<void>;
}

export interface Browser {
  render(html: string, width: number): Promise<RenderedPage>;
  close(): Promise<void>;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

const METRICS = `(() => {
  const w = window.innerWidth;
  const overflowing = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 0.5) overflowing.push({ tag: el.tagName.toLowerCase(), text: (el.textContent || "").trim().slice(0, 60), right: Math.round(r.right) });
  }
  return JSON.stringify({ viewportWidth: w, scrollWidth: document.documentElement.scrollWidth, scrollHeight: document.documentElement.scrollHeight, contentHeight: Math.ceil(document.body.getBoundingClientRect().bottom), overflowing: overflowing.slice(0, 20) });
})()`;

export async function launchChromium(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const profile = await mkdtemp(path.join(os.tmpdir(), "churnwatch-chromium-"));
  const child: ChildProcess = spawn(
    CHROMIUM,
    [
      "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
      "--disable-extensions", "--hide-scrollbars", "--mute-audio", `--user-data-dir=${profile}`, "about:blank",
    ],
    // fd 3: we write commands; fd 4: Chromium writes replies and events (NUL-separated JSON).
    { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] },
  );
  const out = child.stdio[3] as Writable;
  const inp = child.stdio[4] as Readable;
  let nextId = 0;
  const pending = new Map<number, Pending>();
  let buffer = "";
  let exited: Error | null = null;
  inp.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    let end: number;
    while ((end = buffer.indexOf("\0")) >= 0) {
      const msg = JSON.parse(buffer.slice(0, end)) as { id?: number; result?: unknown; error?: { message: string } };
      buffer = buffer.slice(end + 1);
      const p = msg.id === undefined ? undefined : pending.get(msg.id);
      if (!p) continue;
      pending.delete(msg.id!);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    }
  });
  child.on("exit", (code, signal) => {
    exited = new Error(`chromium exited (${signal ?? code})`);
    for (const p of pending.values()) p.reject(exited);
    pending.clear();
  });
  const send = <T>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(exited);
      const id = ++nextId;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      out.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });

  return {
    async render(html, width) {
      const { targetId } = await send<{ targetId: string }>("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
      // mobile: true at phone widths, so the page's viewport meta applies as on a phone.
      await send("Emulation.setDeviceMetricsOverride", { width, height: 900, deviceScaleFactor: 1, mobile: width <= 480 }, sessionId);
      await send("Page.enable", {}, sessionId);
      const { frameTree } = await send<{ frameTree: { frame: { id: string } } }>("Page.getFrameTree", {}, sessionId);
      await send("Page.setDocumentContent", { frameId: frameTree.frame.id, html }, sessionId);
      const evaluate = async <T>(expression: string): Promise<T> => {
        const r = await send<{ result: { value: T }; exceptionDetails?: { text: string } }>(
          "Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId,
        );
        if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.text}`);
        return r.result.value;
      };
      // Fonts and layout settle before measuring.
      await evaluate("document.fonts.ready.then(() => true)");
      const metrics = JSON.parse(await evaluate<string>(METRICS)) as PageMetrics;
      return {
        metrics,
        evaluate,
        async screenshot(part) {
          const y = part?.y ?? 0;
          const height = Math.min(Math.max(1, metrics.contentHeight) - y, part?.height ?? Infinity);
          const { data } = await send<{ data: string }>(
            "Page.captureScreenshot",
            { format: "png", captureBeyondViewport: true, clip: { x: 0, y, width, height, scale: 1 } },
            sessionId,
          );
          return Buffer.from(data, "base64");
        },
        async close() {
          await send("Target.closeTarget", { targetId });
        },
      };
    },
    async close() {
      await send("Browser.close").catch(() => undefined);
      if (!exited) await new Promise<void>((r) => child.once("exit", () => r()));
      await rm(profile, { recursive: true, force: true });
    },
  };
}
