/**
 * Publishes dead letters to the dead-letter topic after their batch committed. Rows are claimed
 * with a short lease (no transaction is open during the Kafka call), sent, then marked sent; a
 * worker that dies mid-send leaves the lease to expire and another worker resends (at least once).
 * While the topic cannot be written, rows wait in the table and ingest goes on.
 */
import type { Producer } from "kafkajs";
import type pg from "pg";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics/metrics.js";
import { toDeadLetter } from "./dead-letter.js";
import type { RejectCode } from "../events/parse.js";

interface UnsentRow {
  id: number;
  source_topic: string;
  source_partition: number;
  source_offset: number;
  code: string;
  reason: string;
  created_at: Date;
  message_key: Buffer | null;
  message_value: Buffer | null;
  message_headers: Record<string, string[]>;
}

export interface DeadLetterRelayOptions {
  pool: pg.Pool;
  producer: Producer;
  topic: string;
  log: Logger;
  metrics: Metrics;
  /** Rows per claim (one Kafka send). */
  batchSize?: number;
  /** How long a claim keeps other workers off the rows. */
  leaseMs?: number;
  intervalMs?: number;
}

function decodeHeaders(h: Record<string, string[]>): Record<string, Buffer[]> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.map((b) => Buffer.from(b, "base64"))]));
}

export class DeadLetterRelay {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly opts: DeadLetterRelayOptions) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Runs a relay pass now (or right after the current one): called after a batch stored rejects. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().then(() => undefined)
      .catch((err) => this.opts.log.warn({ err }, "dead-letter relay pass failed; rows stay queued"))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Sends every unsent row it can claim; resolves when none is left (or a send fails). */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const { rows } = await this.opts.pool.query<UnsentRow>(
        `update dead_letter set claimed_until = now() + make_interval(secs => $2)
          where id in (select id from dead_letter
                        where sent_at is null and (claimed_until is null or claimed_until < now())
                        order by id limit $1 for update skip locked)
          returning id, source_topic, source_partition, source_offset, code, reason, created_at,
                    message_key, message_value, message_headers`,
        [this.opts.batchSize ?? 500, (this.opts.leaseMs ?? 30_000) / 1000],
      );
      if (rows.length === 0) return sent;
      rows.sort((a, b) => a.id - b.id);
      const ids = rows.map((r) => r.id);
      // A failed send gives the rows back at once rather than when the lease runs out.
      const release = () => this.opts.pool.query("update dead_letter set claimed_until = null where id = any($1::bigint[]) and sent_at is null", [ids]).catch(() => undefined);
      await this.opts.producer.send({
        topic: this.opts.topic,
        acks: -1,
        messages: rows.map((r) =>
          toDeadLetter(
            {
              message: { offset: Number(r.source_offset), key: r.message_key, value: r.message_value, headers: decodeHeaders(r.message_headers) },
              code: r.code as RejectCode,
              reason: r.reason,
            },
            r.source_topic,
            r.source_partition,
            r.created_at,
          )),
      }).catch(async (err: unknown) => {
        await release();
        throw err;
      });
      await this.opts.pool.query("update dead_letter set sent_at = now(), claimed_until = null where id = any($1::bigint[])", [ids]);
      for (const r of rows) this.opts.metrics.eventsDeadLettered.inc({ topic: r.source_topic, code: r.code });
      sent += rows.length;
      if (this.stopped) return sent;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
