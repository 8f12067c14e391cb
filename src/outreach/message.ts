/**
 * Builds the RFC 5322 message once, at enqueue time. MIME boundaries are random per build, so
 * building again on retry would send different bytes; storing the built text means every retry
 * (and every crash-resend) carries identical bytes and the same Message-ID.
 *
 * Identity: a Message-ID must be unique worldwide (RFC 5322 3.6.4). The outbox id is derived from
 * the dedupe key, which two deployments share ("digest:at-risk:team@example.com:2026-11-23"), so
 * with a bare right-hand side two deployments sent different digests under one Message-ID and
 * mail clients dropped one as a duplicate. With a MailIdentity the id reads
 * `<outbox id>.<deployment id>@<MAIL_FROM's domain>`: stable for a resend (same deployment), distinct
 * across deployments, and under a domain the sender controls. The same deployment id scopes
 * List-Id (RFC 2919), and List-Unsubscribe (RFC 2369, RFC 8058) says how to stop a list.
 */
import { createHash } from "node:crypto";
import addressparser from "nodemailer/lib/addressparser";
import MailComposer from "nodemailer/lib/mail-composer";

export interface OutgoingMail {
  /** "digest", "alert" or "alert-summary": counted by the alert rate limit, shown in the file index. */
  kind: string;
  /** What the message is for; the same key never produces a second message. */
  dedupeKey: string;
  /** Header From, e.g. "Churnwatch <churnwatch@example.com>" (MAIL_FROM). */
  from: string;
  to: readonly string[];
  subject: string;
  text: string;
  html: string;
  attachments?: readonly { filename: string; content: string; contentType: string }[];
  /** Date header and outbox created_at: the caller's clock, so schedules and tests agree. */
  date: Date;
  /** Deployment-unique Message-ID; without it the legacy `<id@churnwatch>`. */
  identity?: MailIdentity;
  /** List-Id and List-Unsubscribe of the segment the mail belongs to. */
  list?: MailList;
  /** Content-Language, the recipient list's locale (BCP 47). */
  language?: string;
}

export interface MailIdentity {
  /** Lower-case letters, digits and hyphens: this deployment (deployment.ts). */
  deploymentId: string;
  /** Right-hand side of Message-IDs and List-Ids: MAIL_FROM's domain (mailDomain). */
  domain: string;
}

export interface MailList {
  /** The segment id: the List-Id's label. */
  id: string;
  /** The segment's name: the List-Id's phrase. */
  name: string;
  /** mailto: or https: URL; https is also offered for one-click unsubscribe (RFC 8058). */
  unsubscribe?: string | null;
}

/** Right-hand side used without an identity (and in tests of the outbox): the historical form. */
export const MESSAGE_ID_DOMAIN = "churnwatch";

/**
 * The outbox id is derived from the dedupe key, not random: two workers (or a re-run after a
 * crash) preparing the same message agree on its id and Message-ID before either has written it.
 */
export function outboxId(dedupeKey: string): string {
  return createHash("sha256").update(dedupeKey).digest("hex").slice(0, 32);
}

export function messageIdFor(id: string, identity?: MailIdentity): string {
  return identity ? `<${id}.${identity.deploymentId}@${identity.domain}>` : `<${id}@${MESSAGE_ID_DOMAIN}>`;
}

/**
 * The Message-ID a stored message carries (its header), so whoever reports on a stored message
 * (the outbox, the file transport's index) shows the id the recipients see.
 */
export function messageIdOf(raw: string): string | null {
  const headerEnd = raw.search(/\r?\n\r?\n/);
  const headers = (headerEnd < 0 ? raw : raw.slice(0, headerEnd)).replace(/\r?\n[ \t]+/g, " ");
  return /^Message-ID:[ \t]*(<[^>\r\n]+>)/im.exec(headers)?.[1] ?? null;
}

/**
 * The domain of MAIL_FROM's address ("Retention <retention@Example.com>" -> "example.com"); an
 * internationalised domain is written in its ASCII (punycode) form, as a header needs.
 */
export function mailDomain(from: string): string {
  const address = addressparser(from, { flatten: true })[0]?.address ?? "";
  const at = address.lastIndexOf("@");
  const domain = at < 0 ? "" : address.slice(at + 1).toLowerCase();
  if (!domain) return "churnwatch.invalid";
  try {
    return new URL(`http://${domain}`).hostname;
  } catch {
    return "churnwatch.invalid";
  }
}

const DEPLOYMENT_ID = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** A deployment id as Message-IDs and List-Ids need it (a DNS label); null with the reason if not. */
export function checkDeploymentId(id: string): string | null {
  return DEPLOYMENT_ID.test(id) ? null : "lower-case letters, digits and inner hyphens, at most 32 characters (a DNS label)";
}

/**
 * RFC 2369 target for a list: a mailto: or https: URL. `{segment}` in it is replaced by the
 * segment id, so one configured URL serves every segment. Null when the URL is not one of those.
 */
export function unsubscribeUrl(template: string, segmentId: string): string | null {
  const url = template.split("{segment}").join(encodeURIComponent(segmentId));
  return /^(mailto:[^\s<>]+@[^\s<>]+|https:\/\/[^\s<>]+)$/i.test(url) ? url : null;
}

/** The default List-Unsubscribe target: a request to MAIL_FROM, which operators read. */
export function defaultUnsubscribe(from: string, segmentId: string): string | null {
  const address = addressparser(from, { flatten: true })[0]?.address;
  if (!address || !address.includes("@")) return null;
  return `mailto:${address}?subject=${encodeURIComponent(`unsubscribe ${segmentId}`)}`;
}

/**
 * An RFC 5322 phrase: a quoted string when the text is printable ASCII, else RFC 2047 encoded
 * words (UTF-8, base64, each at most 75 characters), so a Bulgarian segment name survives.
 */
export function headerPhrase(text: string): string {
  const clean = text.replace(/[\r\n\t]+/g, " ");
  if (/^[\x20-\x7e]*$/.test(clean)) return `"${clean.replace(/["\\]/g, "\\$&")}"`;
  const words: string[] = [];
  let chunk = "";
  for (const ch of clean) {
    // 45 bytes of UTF-8 are 60 base64 characters: with "=?UTF-8?B?" and "?=" a word stays under 75.
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, "utf8").toString("base64")}?=`).join(" ");
}

type PreparedHeader = { prepared: true; value: string };

function listHeaders(list: MailList, identity: MailIdentity | undefined): Record<string, PreparedHeader> {
  // Prepared: nodemailer would otherwise encode the whole value, angle brackets included, which
  // RFC 2919 does not allow (only the phrase may be an encoded word).
  const headers: Record<string, PreparedHeader> = {};
  const namespace = identity ? `${identity.deploymentId}.${identity.domain}` : MESSAGE_ID_DOMAIN;
  headers["List-Id"] = { prepared: true, value: `${headerPhrase(list.name)} <${list.id}.${namespace}>` };
  if (list.unsubscribe && /^(mailto:|https:\/\/)[^\s<>]+$/i.test(list.unsubscribe)) {
    headers["List-Unsubscribe"] = { prepared: true, value: `<${list.unsubscribe}>` };
    // RFC 8058 one-click applies to an https target only (it is a POST to that URL).
    if (/^https:\/\//i.test(list.unsubscribe)) headers["List-Unsubscribe-Post"] = { prepared: true, value: "List-Unsubscribe=One-Click" };
  }
  return headers;
}

export async function buildRawMessage(mail: OutgoingMail, id: string): Promise<string> {
  const composer = new MailComposer({
    from: mail.from,
    to: [...mail.to],
    subject: mail.subject,
    messageId: messageIdFor(id, mail.identity),
    date: mail.date,
    text: mail.text,
    html: mail.html,
    attachments: (mail.attachments ?? []).map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType })),
    headers: {
      // RFC 3834: keeps out-of-office replies from answering a robot.
      "Auto-Submitted": "auto-generated",
      "X-Churnwatch-Kind": mail.kind,
      ...(mail.language ? { "Content-Language": mail.language } : {}),
      ...(mail.list ? listHeaders(mail.list, mail.identity) : {}),
    },
    // Built from strings we hold: never let content point at files or URLs.
    disableFileAccess: true,
    disableUrlAccess: true,
    newline: "\r\n",
  });
  const buf = await composer.compile().build();
  return buf.toString("utf8");
}
