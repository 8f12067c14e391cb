/**
 * Where outbox messages go. Two transports:
 * - SMTP (SMTP_URL set): nodemailer with smtp:// (STARTTLS when the server offers it, as
 *   nodemailer does) or smtps:// (TLS from the start); sends the stored raw message unchanged.
 *   Every wait is bounded (SMTP_TIMEOUT_MS): nodemailer's own defaults are 2 minutes to connect
 *   and 10 minutes of socket silence, which is how a relay that never answered DATA went unnoticed.
 * - File (the embedded default, OUTBOX_DIR): one .eml per message plus an index.html, so a
 *   developer or a demo sees every mail without any mail server.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import nodemailer from "nodemailer";
import addressparser from "nodemailer/lib/addressparser";
import { escapeHtml as esc } from "../lib/html.js";
import { writeFileAtomic } from "../lib/atomic-write.js";

export interface OutboxItem {
  /** Outbox id = the Message-ID's local part. */
  id: string;
  messageId: string;
  kind: string;
  subject: string;
  recipients: string[];
  /** The message exactly as built at enqueue time. */
  raw: string;
  createdAt: Date;
}

export interface SendOutcome {
  /** Recipients the server refused while accepting the message for others. */
  rejected?: string[];
}

export interface SendOptions {
  /** Aborting gives up on the send and closes its connection (the drain's bounds and shutdown). */
  signal?: AbortSignal;
}

export interface MailTransport {
  readonly name: string;
  /** Resolves once the message is handed over; rejects when it must be retried. */
  send(item: OutboxItem, opts?: SendOptions): Promise<SendOutcome | void>;
  close(): Promise<void>;
}

/** The envelope sender from the message's own From header, so the stored message is self-contained. */
export function envelopeFrom(raw: string): string {
  const headerEnd = raw.search(/\r?\n\r?\n/);
  const headers = (headerEnd < 0 ? raw : raw.slice(0, headerEnd)).replace(/\r?\n[ \t]+/g, " ");
  const line = /^From:[ \t]*(.*)$/im.exec(headers);
  const address = line ? addressparser(line[1], { flatten: true })[0]?.address : undefined;
  if (!address) throw new Error("message has no usable From header");
  return address;
}

export const DEFAULT_SMTP_TIMEOUT_MS = 30_000;

export interface SmtpTransportOptions {
  /** Overrides the envelope sender (bounce address); default: the From header's address. */
  envelopeFrom?: string;
  /**
   * Bound on each wait of a send: the TCP connection (DNS included), the server's greeting and
   * every reply or stretch of socket silence afterwards (SMTP_TIMEOUT_MS). Default 30 s.
   */
  timeoutMs?: number;
}

/**
 * SMTP_URL like smtp://user:pass@mail.example.com:587 or smtps://mail.example.com:465; nodemailer
 * reads further options from the query string (e.g. ?tls.rejectUnauthorized=false for a test relay),
 * and those win over the timeouts given here.
 */
export function createSmtpTransport(url: string, opts: SmtpTransportOptions = {}): MailTransport {
  if (!/^smtps?:\/\//i.test(url)) throw new Error(`SMTP_URL must start with smtp:// or smtps://, got "${url.replace(/\/\/[^@]*@/, "//***@")}"`);
  const timeout = opts.timeoutMs ?? DEFAULT_SMTP_TIMEOUT_MS;
  const transporter = nodemailer.createTransport({
    url,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    dnsTimeout: timeout,
  });
  return {
    name: "smtp",
    async send(item, sendOpts = {}) {
      const info = await transporter.sendMail({
        envelope: { from: opts.envelopeFrom ?? envelopeFrom(item.raw), to: item.recipients },
        // The stored bytes, unchanged: a resend is byte-identical to the first try.
        raw: item.raw,
        // nodemailer closes the connection when this aborts, so a bounded send leaves no socket behind.
        ...(sendOpts.signal ? { signal: sendOpts.signal } : {}),
      });
      const rejected = (info.rejected ?? []).map(String);
      if ((info.accepted ?? []).length === 0) {
        // The server answered for every recipient, so this is about the message, not the relay.
        throw Object.assign(new Error(`no recipient accepted (${rejected.join(", ")}): ${info.response}`), { code: "EENVELOPE" });
      }
      return { rejected };
    },
    async close() {
      transporter.close();
    },
  };
}

interface IndexEntry {
  id: string;
  messageId: string;
  kind: string;
  subject: string;
  recipients: string[];
  createdAt: string;
  file: string;
}

/**
 * `<dir>/<id>.eml` (the outbox id is the Message-ID's local part) plus a small `<id>.json` the
 * index is built from. Sending the same message again rewrites the same name with the same
 * bytes: the resend after a crash is idempotent here.
 */
export function createFileTransport(dir: string): MailTransport {
  return {
    name: "file",
    async send(item) {
      await mkdir(dir, { recursive: true });
      const file = `${item.id}.eml`;
      await writeFileAtomic(path.join(dir, file), item.raw);
      const entry: IndexEntry = {
        id: item.id, messageId: item.messageId, kind: item.kind, subject: item.subject,
        recipients: item.recipients, createdAt: item.createdAt.toISOString(), file,
      };
      await writeFileAtomic(path.join(dir, `${item.id}.json`), `${JSON.stringify(entry, null, 2)}\n`);
      await writeIndex(dir);
    },
    async close() {},
  };
}

async function writeIndex(dir: string): Promise<void> {
  const entries: IndexEntry[] = [];
  for (const name of await readdir(dir)) {
    if (!name.endsWith(".json")) continue;
    try {
      entries.push(JSON.parse(await readFile(path.join(dir, name), "utf8")) as IndexEntry);
    } catch {
      // A foreign or damaged file must not stop mail from being written.
    }
  }
  entries.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? -1 : 1));
  const rows = entries
    .map(
      (e) =>
        `<tr><td>${esc(e.createdAt.replace("T", " ").replace(/\.\d+Z$/, "Z"))}</td><td>${esc(e.kind)}</td>` +
        `<td><a href="${esc(encodeURIComponent(e.file))}">${esc(e.subject)}</a></td><td>${esc(e.recipients.join(", "))}</td></tr>`,
    )
    .join("\n");
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>churnwatch outbox</title>
<style>body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#24292f}
table{border-collapse:collapse}td,th{padding:6px 10px;border-bottom:1px solid #d8dee4;text-align:left;font-size:14px}
th{color:#57606a;font-size:12px}</style></head>
<body><h1>churnwatch outbox</h1>
<p>${entries.length} message${entries.length === 1 ? "" : "s"}, newest first. Each link is the message as it would be sent (.eml opens in a mail client).</p>
<table><tr><th>Date (UTC)</th><th>Kind</th><th>Subject</th><th>Recipients</th></tr>
${rows}
</table></body></html>
`;
  await writeFileAtomic(path.join(dir, "index.html"), html);
}

/**
 * Deletes the file transport's messages in `dir` whose raw text `matches` (an erasure: mail that
 * mentions an erased customer), each with its index entry, and rewrites the index if any went.
 * Returns how many were deleted; a missing folder holds none.
 */
export async function deleteFileMessages(dir: string, matches: (raw: string) => boolean): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
  let deleted = 0;
  for (const name of names) {
    if (!name.endsWith(".eml")) continue;
    let raw: string;
    try {
      raw = await readFile(path.join(dir, name), "utf8");
    } catch {
      continue; // gone meanwhile (another erasure, a resend's atomic rename)
    }
    if (!matches(raw)) continue;
    await rm(path.join(dir, name), { force: true });
    await rm(path.join(dir, `${name.slice(0, -4)}.json`), { force: true });
    deleted++;
  }
  if (deleted > 0) await writeIndex(dir);
  return deleted;
}

/** SMTP when a URL is configured, else the file transport: mails are never silently dropped. */
export function createMailTransport(cfg: { smtpUrl?: string | null; outboxDir: string; smtpTimeoutMs?: number }): MailTransport {
  return cfg.smtpUrl
    ? createSmtpTransport(cfg.smtpUrl, cfg.smtpTimeoutMs !== undefined ? { timeoutMs: cfg.smtpTimeoutMs } : {})
    : createFileTransport(cfg.outboxDir);
}
