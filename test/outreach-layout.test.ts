/**
 * Mail that works on a phone: the HTML's structure (always), and the rendered page measured in
 * headless Chromium at 400 and 1200 px (Debian's chromium; .ci/run installs it). The samples are
 * the ones docs/screenshots shows (scripts/lib/sample-mail.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium, type Browser } from "../scripts/lib/headless-chromium.js";
import { SAMPLE_LOCALES, sampleAlert, sampleDigest } from "../scripts/lib/sample-mail.js";
import { PAGE_MAX_WIDTH, PAGE_PADDING } from "../src/outreach/layout.js";

const PHONE = 400;

/** What a client other than Outlook for Windows sees: conditional comments are comments. */
const withoutMso = (html: string) => html.replace(/<!--\[if mso\]>[\s\S]*?<!\[endif\]-->/g, "");

const samples = SAMPLE_LOCALES.flatMap((locale) => [
  { name: `digest ${locale}`, html: sampleDigest(locale).html },
  { name: `digest ${locale}, 3 weeks of history`, html: sampleDigest(locale, { weeksWithData: 3 }).html },
  { name: `alert ${locale}`, html: sampleAlert(locale).html },
]);

describe("mail HTML structure", () => {
  for (const s of samples) {
    it(`${s.name}: nothing fixed wider than a phone, every cell may wrap, one max-width container`, () => {
      const html = withoutMso(s.html);
      // Fixed widths (CSS width: or the width attribute) in px; max-width is what lets the page shrink.
      const widths = [
        ...[...html.matchAll(/(?<![-\w])width:\s*(\d+)px/g)].map((m) => Number(m[1])),
        ...[...html.matchAll(/\swidth="(\d+)"/g)].map((m) => Number(m[1])),
      ];
      expect(widths.filter((w) => w > PHONE), "fixed widths above 400 px").toEqual([]);
      expect(html).not.toMatch(/nowrap/i);
      expect(html).not.toMatch(/min-width:\s*[4-9]\d\dpx/);
      expect(html).toMatch(new RegExp(`<body[^>]*>[\\s\\S]*?<div style="max-width:${PAGE_MAX_WIDTH}px;margin:0 auto;`));
      expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
      // Nothing a mail client blocks or strips: scripts, images (data: URIs included), SVG, style blocks, external CSS.
      expect(html).not.toMatch(/<script|<img|<svg|<style|<link|url\(|<iframe|<object/i);
      // Side-by-side blocks are inline-blocks with a max-width no wider than a phone.
      for (const m of html.matchAll(/display:inline-block;width:100%;max-width:(\d+)px/g)) expect(Number(m[1])).toBeLessThanOrEqual(PHONE);
    });
  }

  it("Outlook gets ghost tables (fixed widths only inside conditional comments)", () => {
    const html = sampleDigest("en-GB").html;
    expect(html).toContain(`<!--[if mso]><table role="presentation" width="${PAGE_MAX_WIDTH}" align="center"`);
    expect(withoutMso(html)).not.toContain(`width="${PAGE_MAX_WIDTH}"`);
  });

  it("the lang attribute is the list's locale", () => {
    expect(sampleDigest("bg-BG").html).toMatch(/<html lang="bg-BG"/);
    expect(sampleAlert("de-DE").html).toMatch(/<html lang="de-DE"/);
  });
});

describe("rendered in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    const missing = chromiumMissing();
    // No skipping: CI installs chromium (.ci/run), and a missing browser must not pass silently.
    if (missing) throw new Error(missing);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  for (const s of samples) {
    it(`${s.name}: no horizontal overflow at ${PHONE} px`, async () => {
      const page = await browser.render(s.html, PHONE);
      try {
        expect(page.metrics.viewportWidth).toBe(PHONE);
        expect(page.metrics.overflowing, "elements beyond the right edge").toEqual([]);
        expect(page.metrics.scrollWidth).toBeLessThanOrEqual(PHONE);
      } finally {
        await page.close();
      }
    });
  }

  it("at 1200 px the page is one centred column and the trend charts sit side by side; at 400 px they stack", async () => {
    const html = sampleDigest("de-DE").html;
    const tops = `JSON.stringify([...document.querySelectorAll('table[role="img"]')].map((t) => Math.round(t.getBoundingClientRect().top)))`;
    const desktop = await browser.render(html, 1200);
    try {
      expect(desktop.metrics.scrollWidth).toBe(1200);
      const container = JSON.parse(await desktop.evaluate<string>("JSON.stringify(document.body.querySelector('div[style*=\"max-width\"]').getBoundingClientRect())")) as { width: number; left: number };
      // max-width bounds the content box; the padding comes on top (box-sizing is not honoured everywhere).
      expect(container.width).toBe(PAGE_MAX_WIDTH + 2 * PAGE_PADDING);
      expect(container.left).toBe((1200 - PAGE_MAX_WIDTH - 2 * PAGE_PADDING) / 2);
      const chartTops = JSON.parse(await desktop.evaluate<string>(tops)) as number[];
      expect(chartTops).toHaveLength(3);
      expect(new Set(chartTops).size).toBe(1);
    } finally {
      await desktop.close();
    }
    const phone = await browser.render(html, PHONE);
    try {
      const chartTops = JSON.parse(await phone.evaluate<string>(tops)) as number[];
      expect(new Set(chartTops).size).toBe(3);
    } finally {
      await phone.close();
    }
  });
});
