/**
 * HTML building blocks that mail clients render alike, on a phone and on a desktop.
 *
 * - Inline styles only: Gmail (web and apps) and Outlook drop or rewrite <style> blocks in many
 *   cases; nothing here depends on one.
 * - No fixed width above the phone's: the page is one centred container with an inline
 *   max-width, and side-by-side blocks are inline-blocks with a max-width each ("fluid hybrid"):
 *   they sit next to each other when the container is wide and stack when it is not, with no media
 *   query. Outlook for Windows (Word's engine) ignores max-width and inline-block, so it gets
 *   "ghost" tables with fixed columns inside <!--[if mso]> comments, which every other client
 *   treats as comments.
 * - No scripts, no external or data: images, no SVG: charts are table cells with a background
 *   colour and a height, which Gmail, Outlook, Apple Mail and Thunderbird all draw.
 * - Every table cell may wrap (no nowrap): the text breaks instead of widening the page.
 */
import { escapeHtml as esc } from "../lib/html.js";

export const FONT = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif";
export const MUTED = "#57606a";
export const TEXT = "#24292f";
export const LINK = "#0969da";
export const LEVEL_COLOURS: Readonly<Record<string, string>> = { high: "#cf222e", medium: "#9a6700", low: "#1a7f37" };
export const ASSESSMENT_COLOURS: Readonly<Record<string, string>> = { better: "#1a7f37", worse: "#cf222e", same: MUTED };

/** Widest the page's content gets on a desktop (the container's max-width); phones get their own width. */
export const PAGE_MAX_WIDTH = 640;
/** The container's padding, outside that width (content-box: box-sizing is not honoured by every client). */
export const PAGE_PADDING = 16;

const mso = (html: string) => `<!--[if mso]>${html}<![endif]-->`;

export function page(opts: { lang: string; title: string; body: string; preheader?: string }): string {
  // The preheader is the grey line mail lists show after the subject; hidden in the message itself.
  const preheader = opts.preheader
    ? `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">${esc(opts.preheader)}</div>\n`
    : "";
  return `<!DOCTYPE html>
<html lang="${esc(opts.lang)}" dir="ltr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="x-apple-disable-message-reformatting"><title>${esc(opts.title)}</title></head>
<body style="margin:0;padding:0;background:#f6f8fa;-webkit-text-size-adjust:100%;text-size-adjust:100%">
${preheader}${mso(`<table role="presentation" width="${PAGE_MAX_WIDTH}" align="center" cellpadding="0" cellspacing="0"><tr><td>`)}
<div style="max-width:${PAGE_MAX_WIDTH}px;margin:0 auto;padding:${PAGE_PADDING}px;background:#ffffff;${FONT};color:${TEXT};overflow-wrap:break-word;word-wrap:break-word">
${opts.body}
</div>
${mso("</td></tr></table>")}
</body></html>
`;
}

/**
 * Blocks side by side while they fit, stacked otherwise. Widths are each block's maximum; their sum
 * (gaps included) should stay within PAGE_MAX_WIDTH so that a desktop shows them in one row.
 */
export function columns(blocks: readonly { html: string; maxWidth: number; gap?: number }[]): string {
  let out = mso(`<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>`);
  blocks.forEach((b, i) => {
    const gap = i < blocks.length - 1 ? b.gap ?? 0 : 0;
    out += mso(`${i > 0 ? "</td>" : ""}<td width="${b.maxWidth + gap}" valign="top">`);
    // No whitespace between the blocks: inline-blocks would show it as a gap and wrap early. The
    // gap is padding inside the block (border-box), not a margin: a stacked block at width 100%
    // plus a margin would be wider than the phone.
    out +=
      `<div style="display:inline-block;width:100%;max-width:${b.maxWidth + gap}px;vertical-align:top;` +
      `${gap ? `padding-right:${gap}px;` : ""}box-sizing:border-box">${b.html}</div>`;
  });
  return out + mso("</td></tr></table>");
}

export function heading(text: string, level: 1 | 2 = 2): string {
  return level === 1
    ? `<h1 style="font-size:20px;line-height:1.3;margin:0 0 4px">${esc(text)}</h1>`
    : `<h2 style="font-size:16px;line-height:1.3;margin:24px 0 8px">${esc(text)}</h2>`;
}

export function actionBox(label: string, action: string): string {
  return `<div style="border-left:4px solid ${LINK};background:#ddf4ff;padding:8px 12px;font-size:14px;line-height:1.45;margin:8px 0 12px"><strong>${esc(label)}</strong> ${esc(action)}</div>`;
}

/**
 * A small bar chart as a table: one cell per value, each holding a one-cell table whose height and
 * background colour are the bar (Outlook honours the height attribute and bgcolor where it ignores
 * CSS heights on divs). Null values draw a hairline in grey: "no data", not zero.
 */
export function barChart(opts: {
  values: readonly (number | null)[];
  titles: readonly string[];
  label: string;
  height?: number;
  colour?: string;
  lastColour?: string;
}): string {
  const height = opts.height ?? 44;
  const max = Math.max(0, ...opts.values.map((v) => v ?? 0));
  const cells = opts.values.map((v, i) => {
    const isLast = i === opts.values.length - 1;
    const colour = v === null ? "#d0d7de" : isLast ? opts.lastColour ?? "#0550ae" : opts.colour ?? "#54aeff";
    // A value above zero is never drawn flat, so "small" and "none" look different.
    const h = v === null ? 1 : max === 0 ? 2 : Math.max(2, Math.round((v / max) * height));
    const bar =
      `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse"><tr>` +
      `<td height="${h}" bgcolor="${colour}" style="height:${h}px;background:${colour};font-size:0;line-height:0;mso-line-height-rule:exactly">&nbsp;</td></tr></table>`;
    return `<td valign="bottom" title="${esc(opts.titles[i] ?? "")}" style="height:${height}px;vertical-align:bottom;padding:0 1px">${bar}</td>`;
  });
  return (
    `<table role="img" aria-label="${esc(opts.label)}" width="100%" cellpadding="0" cellspacing="0" ` +
    `style="border-collapse:collapse;table-layout:fixed;width:100%;border-bottom:1px solid #d0d7de"><tr>${cells.join("")}</tr></table>`
  );
}

const SPARKS = ["\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"];

/** The plain-text part's chart: "▁▂▃▅▇", "·" for a week without data. */
export function sparkline(values: readonly (number | null)[]): string {
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  return values
    .map((v) => (v === null ? "\u00B7" : max === 0 ? SPARKS[0]! : SPARKS[Math.min(7, Math.round((v / max) * 7))]!))
    .join("");
}
