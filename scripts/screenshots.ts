/**
 * Renders sample digests and an alert (scripts/lib/sample-mail.ts, through the production
 * renderers) in headless Chromium at desktop (1200 px) and phone (400 px) widths and writes the
 * PNGs to docs/screenshots/. Refuses to write a shot whose page is wider than its viewport.
 *
 *   npm run screenshots            # needs Debian's chromium (apt-get install -y chromium)
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./lib/headless-chromium.js";
import { sampleAlert, sampleDigest } from "./lib/sample-mail.js";

const OUT = fileURLToPath(new URL("../docs/screenshots/", import.meta.url));

const SHOTS: { file: string; html: () => string; width: number }[] = [
  { file: "digest-en-desktop.png", html: () => sampleDigest("en-GB").html, width: 1200 },
  { file: "digest-en-phone.png", html: () => sampleDigest("en-GB").html, width: 400 },
  { file: "digest-de-desktop.png", html: () => sampleDigest("de-DE").html, width: 1200 },
  { file: "digest-bg-phone.png", html: () => sampleDigest("bg-BG").html, width: 400 },
  { file: "digest-pl-phone-short-history.png", html: () => sampleDigest("pl-PL", { weeksWithData: 5 }).html, width: 400 },
  { file: "alert-ru-phone.png", html: () => sampleAlert("ru-RU").html, width: 400 },
];

async function main(): Promise<void> {
  if (process.argv.includes("--help")) {
    console.log("usage: npm run screenshots\nwrites sample digests and an alert at 1200 and 400 px to docs/screenshots/ (needs /usr/bin/chromium or CHROMIUM_PATH)");
    return;
  }
  await mkdir(OUT, { recursive: true });
  const browser = await launchChromium();
  try {
    for (const shot of SHOTS) {
      const page = await browser.render(shot.html(), shot.width);
      const m = page.metrics;
      if (m.scrollWidth > shot.width || m.overflowing.length > 0) {
        throw new Error(`${shot.file}: page is ${m.scrollWidth} px wide at ${shot.width} px: ${JSON.stringify(m.overflowing.slice(0, 3))}`);
      }
      await writeFile(path.join(OUT, shot.file), await page.screenshot());
      await page.close();
      console.log(`${path.relative(process.cwd(), path.join(OUT, shot.file))}  ${shot.width} x ${m.contentHeight} px, no horizontal overflow`);
    }
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(`screenshots: ${(err as Error).message}`);
  process.exit(1);
});
