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

/** A real SMTP server in-process; `mode` switches it between accepting and answering 451. */
export class TestSmtp {
  received: Received[] = [];
  mode: "accept" | "reject" = "accept";
  delayMs = 0;
  private server: SMTPServer | null = null;
  /** tls: "none" (plain), "starttls" (upgrade offered, smtp-server's built-in test certificate), "implicit" (smtps). */
  constructor(readonly port: number, readonly tls: "none" | "starttls" | "implicit" = "none") {}

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      secure: this.tls === "implicit",
      disabledCommands: this.tls === "none" ? ["STARTTLS", "AUTH"] : ["AUTH"],
      logger: false,
      onRcptTo: (_address, _session, cb) => {
        if (this.mode === "reject") cb(Object.assign(new Error("mailbox busy, try later"), { responseCode: 451 }));
        else cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const raw = Buffer.concat(chunks).toString("utf8");
          setTimeout(() => {
            simpleParser(raw).then((mail) => {
              this.received.push({
                secure: session.secure,
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
                to: session.envelope.rcptTo.map((r) => r.address),
                raw,
                mail,
              });
              cb();
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

