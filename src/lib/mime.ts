/**
 * The readable text of a stored RFC 5322 message: unfolded headers with RFC 2047 encoded words
 * decoded, and every MIME part's body decoded from base64 or quoted-printable (multiparts
 * recursively). Searching the raw text is not enough: nodemailer writes HTML and text parts in
 * quoted-printable (a soft line break may split a name or id) and attachments such as a digest's
 * CSV in base64, where a customer id never appears as such.
 *
 * Enough for messages this project builds (outreach/message.ts: UTF-8, nodemailer's encodings);
 * anything it does not understand is kept as it stands rather than dropped, so a search errs
 * towards finding.
 */

interface Part {
  headers: string;
  body: string;
}

function split(raw: string): Part {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { headers: raw, body: "" };
  return { headers: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) };
}

/** Header block with folded lines joined. */
function unfold(headers: string): string {
  return headers.replace(/\r?\n[ \t]+/g, " ");
}

function header(headers: string, name: string): string | null {
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, "im");
  return re.exec(headers)?.[1]?.trim() ?? null;
}

function param(value: string, name: string): string | null {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, "i").exec(value);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

function decodeQuotedPrintable(text: string): Buffer {
  const soft = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const ch = soft.charCodeAt(i);
    if (ch === 0x3d && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch < 0x80) {
      bytes.push(ch);
    } else {
      bytes.push(...Buffer.from(soft[i]!, "utf8"));
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047 encoded words (=?UTF-8?B?...?= and =?UTF-8?Q?...?=) as text; adjacent words join. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, "$1$2")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_all, charset: string, enc: string, text: string) => {
      const bytes = enc.toUpperCase() === "B" ? Buffer.from(text, "base64") : decodeQuotedPrintable(text.replace(/_/g, " "));
      return /^(utf-?8|us-ascii)$/i.test(charset) ? bytes.toString("utf8") : bytes.toString("latin1");
    });
}

function decodeBody(part: Part): string {
  const encoding = (header(part.headers, "Content-Transfer-Encoding") ?? "").toLowerCase();
  if (encoding === "base64") return Buffer.from(part.body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") return decodeQuotedPrintable(part.body).toString("utf8");
  return part.body;
}

function textOf(raw: string, depth: number): string[] {
  const part = split(raw);
  const headers = unfold(part.headers);
  const out = [decodeEncodedWords(headers)];
  const type = header(headers, "Content-Type") ?? "text/plain";
  const boundary = /^multipart\//i.test(type) ? param(type, "boundary") : null;
  if (boundary && depth < 8) {
    const delimiter = `--${boundary}`;
    const pieces = part.body.split(new RegExp(`^${delimiter.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:--)?[ \\t]*\\r?$`, "m"));
    // pieces[0] is the preamble, the last one the epilogue: both are kept as they stand.
    out.push(pieces[0] ?? "");
    for (const piece of pieces.slice(1)) out.push(...textOf(piece.replace(/^\r?\n/, ""), depth + 1));
    return out;
  }
  out.push(decodeBody(part));
  return out;
}

/** Headers and decoded bodies of every part, joined by newlines. */
export function mimeText(raw: string): string {
  return textOf(raw, 0).join("\n");
}
