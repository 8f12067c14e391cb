/**
 * Builds the RFC 5322 message once, at enqueue time. MIME boundaries are random per build, so
 * building again on retry would send different bytes; storing the built text means every retry
 * (and every crash-resend) carries identical bytes and the same Message-ID.
 */
import { createHash } from "node:crypto";
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
}

export const MESSAGE_ID_DOMAIN = "churnwatch";

/**
 * The outbox id is derived from the dedupe key, not random: two workers (or a re-run after a
 * crash) preparing the same message agree on its id and Message-ID before either has written it.
 */
export function outboxId(dedupeKey: string): string {
  return createHash("sha256").update(dedupeKey).digest("hex").slice(0, 32);
}

export function messageIdFor(id: string): string {
  return `<${id}@${MESSAGE_ID_DOMAIN}>`;
}

export async function buildRawMessage(mail: OutgoingMail, id: string): Promise<string> {
  const composer = new MailComposer({
    from: mail.from,
    to: [...mail.to],
    subject: mail.subject,
    messageId: messageIdFor(id),
    date: mail.date,
    text: mail.text,
    html: mail.html,
    attachments: (mail.attachments ?? []).map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType })),
    headers: {
      // RFC 3834: keeps out-of-office replies from answering a robot.
      "Auto-Submitted": "auto-generated",
      "X-Churnwatch-Kind": mail.kind,
    },
    // Built from strings we hold: never let content point at files or URLs.
    disableFileAccess: true,
    disableUrlAccess: true,
    newline: "\r\n",
  });
  const buf = await composer.compile().build();
  return buf.toString("utf8");
}
