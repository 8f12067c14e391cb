/** A real SMTP server in-process (smtp-server), with mailparser to read what arrived. */
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface Received {
  /** The session was TLS (smtps:// or after STARTTLS). */
  secure: boolean;
  from: string;
  to: string[];
  raw: string;
  mail: ParsedMail;
}

/**
 * A real SMTP server in-process. `mode` makes it behave or misbehave:
 * - accept: takes every message (after `delayMs` per DATA: a slow relay);
 * - reject: answers 451 (temporary) to every recipient;
 * - hang: reads the whole message and never answers the final dot, like a stuck relay;
 * - drop-after-data: keeps the message (it counts as received) and cuts the connection before
 *   answering, the case where the client cannot know whether the message was accepted.
 */
export class TestSmtp {
  received: Received[] = [];
  mode: "accept" | "reject" | "hang" | "drop-after-data" = "accept";
  delayMs = 0;
  /** Connections opened and closed, and messages whose DATA arrived in full, whatever the server did next. */
  connections = 0;
  closed = 0;
  dataReceived = 0;
  private server: SMTPServer | null = null;
  /** tls: "none" (plain), "starttls" (upgrade offered, smtp-server's built-in test certificate), "implicit" (smtps). */
  constructor(readonly port: number, readonly tls: "none" | "starttls" | "implicit" = "none") {}

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      secure: this.tls === "implicit",
      disabledCommands: this.tls === "none" ? ["STARTTLS", "AUTH"] : ["AUTH"],
      logger: false,
      // A hung session must not hold stop() for smtp-server's default 30 s.
      closeTimeout: 1_000,
      onConnect: (_session, cb) => {
        this.connections++;
        cb();
      },
      onClose: () => {
        this.closed++;
      },
      onRcptTo: (_address, _session, cb) => {
        if (this.mode === "reject") cb(Object.assign(new Error("mailbox busy, try later"), { responseCode: 451 }));
        else cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const raw = Buffer.concat(chunks).toString("utf8");
          this.dataReceived++;
          const mode = this.mode;
          if (mode === "hang") return; // never answers: the client's timeout has to end it
          setTimeout(() => {
            simpleParser(raw).then((mail) => {
              this.received.push({
                secure: session.secure,
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
                to: session.envelope.rcptTo.map((r) => r.address),
                raw,
                mail,
              });
              if (mode === "drop-after-data") this.dropConnection(session.id);
              else cb();
            }, cb);
          }, this.delayMs);
        });
      },
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }

  /** Cuts a session's TCP connection without a reply (smtp-server has no API for it). */
  private dropConnection(sessionId: string): void {
    const connections = (this.server as unknown as { connections?: Set<{ id: string; _socket?: { destroy(): void } }> } | null)?.connections;
    for (const c of connections ?? []) if (c.id === sessionId) c._socket?.destroy();
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    // The built-in certificate is self-signed: accept it for this local test server only.
    if (this.tls === "implicit") return `smtps://127.0.0.1:${this.port}?tls.rejectUnauthorized=false`;
    if (this.tls === "starttls") return `smtp://127.0.0.1:${this.port}?requireTLS=true&tls.rejectUnauthorized=false`;
    return `smtp://127.0.0.1:${this.port}`;
  }
}

