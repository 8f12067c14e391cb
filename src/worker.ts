/**
 * Composes the stages into one running worker: database (embedded or external) with migrations,
 * the current model, Kafka ingest, rescoring and risk-score events, scheduled jobs (full
 * rescoring, digests) with the outbox sender, and the operator HTTP endpoints. main.ts, the demo
 * and the tests all start the worker through here, so they exercise the same wiring.
 */
import { parseOptionsFrom, type Config } from "./config/config.js";
import { createLogger, type Logger } from "./log.js";
import { createMetrics, type Metrics } from "./metrics/metrics.js";
import { runChecks, startOpsServer, type OpsServer } from "./http/server.js";
import type { Db } from "./store/db.js";
import { openDatabase } from "./store/open.js";
import { createKafka } from "./ingest/kafka.js";
import { startIngest, type Ingest, type IngestOptions } from "./ingest/runner.js";
import { startLiveModel, type LiveModel } from "./scoring/live-model.js";
import { startScoringService, type ScoringService } from "./scoring/service.js";
import { startScoringThreads } from "./scoring/threads.js";
import { refreshReasons } from "./scoring/refresh-reasons.js";
import { startEventSender } from "./publish/publisher.js";
import { startRelay, type Relay } from "./publish/relay.js";
import { outboxBacklog } from "./publish/event-outbox.js";
import { DEFAULT_SEGMENTS_FILE, loadSegments } from "./outreach/segments.js";
import { createMailTransport, mailIdentity, runDigest, startOutboxSender, type MailTransport, type OutboxSender } from "./outreach/index.js";
import { previousPeriod, snapshotKpis, trailingDays } from "./kpi/index.js";
import { startScheduler, type Scheduler } from "./schedule/scheduler.js";
import { runRetention } from "./schedule/retention.js";
import { exportLiveQuality, runLiveQuality } from "./quality/job.js";
import { latestLiveQuality } from "./quality/store.js";
import type { ModelCheck } from "./outreach/render-digest.js";
import { startErasureRequests, type ErasureRequestRunner } from "./admin/erasure-requests.js";

export interface WorkerOptions {
  logger?: Logger;
  afterDbCommit?: IngestOptions["afterDbCommit"];
  /** Serve /healthz, /readyz, /metrics (default true; tests running several workers turn it off). */
  http?: boolean;
  /** Start the cron schedules (default true); tests trigger jobs explicitly through `scheduler.runNow`. */
  schedules?: boolean;
  /** The worker cannot make progress any more (its consumer crashed for good): the caller should exit. */
  onFatal?: (err: Error) => void;
}

export interface Worker {
  db: Db;
  ingest: Ingest;
  models: LiveModel;
  scoring: ScoringService;
  /** Moves committed CRM events from the event outbox to Kafka. */
  relay: Relay;
  scheduler: Scheduler;
  /** Erasure requests that arrived as events: run after their batch commits, and swept every minute. */
  erasures: ErasureRequestRunner;
  transport: MailTransport;
  /** This worker's outbox sender (one drain at a time); `mail.drain(now)` sends what is due at `now`. */
  mail: OutboxSender;
  metrics: Metrics;
  logger: Logger;
  httpPort: number | null;
  /** Runs the digest job for `now` (cluster-once per slot) and waits until what it enqueued was sent (or tried). */
  digestNow(now?: Date): Promise<unknown>;
  stop(): Promise<void>;
}

/** The live-quality job's newest check of the model in service, as the digest footer shows it. */
async function digestModelCheck(pool: Db["pool"]): Promise<ModelCheck | null> {
  const latest = (await latestLiveQuality(pool)).evaluations[0];
  return latest ? { asOf: new Date(latest.asOf), horizonDays: latest.horizonDays, bands: latest.bands } : null;
}

export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<Worker> {
  const logger = options.logger ?? createLogger(config.logLevel);
  // The worker itself never starts stand-in servers: the dev command and the demo do, and pass real addresses.
  if (!("url" in config.database)) throw new Error("startWorker needs a database URL (DATABASE_URL); start the embedded one first");
  const brokers = config.kafka.brokers;
  if (brokers === "embedded") throw new Error("startWorker needs broker addresses (KAFKA_BROKERS); start the local broker first");
  const metrics = createMetrics(options.http !== false);
  // Everything that can be refused is checked before anything starts: model, segments.
  const models = await startLiveModel(config.scoring.modelDir, logger, config.scoring.pollMs, {
    onServing: (m) => {
      metrics.modelInfo.reset();
      metrics.modelInfo.set({ model_version: m.artifact.modelVersion, feature_set: m.artifact.featureSetVersion, trained_at: m.artifact.createdAt }, 1);
    },
    onRefused: () => metrics.modelReloadFailures.inc(),
  });
  const segments = await loadSegments(config.outreach.segmentsFile ?? DEFAULT_SEGMENTS_FILE);
  const { db } = await openDatabase(config.database.url, logger, { size: config.db.poolSize, timeouts: config.db });
  const kafka = createKafka({ ...config.kafka, brokers }, logger);
  // CRM events leave through the event outbox: written in the scoring transaction, sent by this
  // relay after commit (every worker runs one; claimed rows keep them from sending a row twice at once).
  const sender = await startEventSender(kafka, config.kafka.topics.riskScores, config.crmEvents);
  const relay = startRelay({
    pool: db.pool, sender, logger,
    onPublished: (events) => {
      for (const e of events) {
        if (e.kind === "risk-score") metrics.riskEventsPublished.inc();
        else if (e.kind === "lifecycle") metrics.lifecycleEventsPublished.inc({ stage: (JSON.parse(e.payload) as { stage?: string }).stage ?? "unknown" });
      }
      metrics.outboxSent.inc({ kind: "crm-events" }, events.length);
    },
    onDropped: (dropped) => metrics.outboxFailed.inc({ kind: "crm-events" }, Object.values(dropped).reduce((a, b) => a + b, 0)),
  });
  const backlogTimer = setInterval(() => void outboxBacklog(db.pool).then((b) => {
    metrics.outboxPending.set({ kind: "crm-events" }, Object.values(b.pending).reduce((a, n) => a + n, 0));
    metrics.outboxOldestPendingAge.set({ kind: "crm-events" }, b.oldestAgeSeconds);
  }, () => undefined), 15_000);
  backlogTimer.unref();
  // Pages are computed (states parsed, scored, explained) on worker threads: the main thread keeps
  // reading and writing, and every core works.
  const threads = startScoringThreads();
  const o = config.outreach;
  // Message-IDs and List-Ids carry this database's deployment id under MAIL_FROM's domain.
  const identity = await mailIdentity(db.pool, o.from, o.deploymentId);
  const transport = createMailTransport({ smtpUrl: o.smtpUrl, outboxDir: o.outboxDir, smtpTimeoutMs: o.smtpTimeoutMs });
  // Sends outside any transaction, one drain at a time per worker; every wait is bounded (a whole
  // send by 4 x SMTP_TIMEOUT_MS, a drain by OUTBOX_DRAIN_TIMEOUT_SECONDS).
  const mail = startOutboxSender(db.pool, transport, {
    logger: logger.child({ component: "outbox" }),
    metrics,
    maxAttempts: o.maxAttempts,
    backoff: { baseMs: o.retryBaseSeconds * 1000 },
    timeoutMs: o.drainTimeoutSeconds * 1000,
    sendTimeoutMs: 4 * o.smtpTimeoutMs,
  });

  const scoring = startScoringService({
    pool: db.pool,
    model: () => models.current(),
    ...(config.scoring.riskBands ? { bands: config.scoring.riskBands } : {}),
    segments,
    publish: true,
    publishRule: { minDelta: config.scoring.minDelta },
    includePii: config.scoring.includePii,
    alerts: {
      from: o.from, baseCurrency: config.ingest.baseCurrency, ratePerHour: o.alertRatePerHour, crmLinkTemplate: o.crmLinkTemplate,
      timeZone: o.timeZone, identity, unsubscribe: o.listUnsubscribe,
    },
    computer: threads,
    onEvents: () => relay.wake(),
    metrics,
    logger,
  }, logger, {
    // Too many touched customers at once (a backfill with SCORE_AFTER_BATCH on): one full rescoring covers them all.
    onOverflow: () => void scheduler.runNow("rescore-all", `overflow:${new Date().toISOString().slice(0, 13)}`)
      .catch((err) => logger.error({ err }, "rescoring after a pending-set overflow failed")),
  });

  const scheduler = startScheduler(db.pool, [
    {
      name: "rescore-all",
      cron: config.scoring.rescoreCron,
      timeZone: config.scoring.rescoreTimeZone,
      // Silence is the main churn signal: customers who send nothing still grow riskier by the hour.
      run: (at) => scoring.rescoreAll(at),
    },
    {
      name: "digest",
      cron: o.digestCron,
      timeZone: o.timeZone,
      // Each day's digest is its own: one that fires while a retry of the last one runs waits for it.
      whenBusy: "queue",
      run: async (at) => {
        const period = trailingDays(at, o.kpiPeriodDays, o.timeZone);
        const previous = previousPeriod(period, o.timeZone);
        const { changes } = await snapshotKpis(db.pool, { ...period, activeWindowDays: o.kpiActiveWindowDays }, previous, at);
        // Rescoring explains only what it publishes: bring the reasons of every digest row up to date first.
        await refreshReasons({ pool: db.pool, model: () => models.current(), explainer: threads.explainer, logger });
        const results = await runDigest(db.pool, {
          modelCheck: await digestModelCheck(db.pool),
          segments, now: at, timeZone: o.timeZone, kpis: changes, baseCurrency: config.ingest.baseCurrency,
          kpiPeriod: { current: period, previous, activeWindowDays: o.kpiActiveWindowDays }, identity,
          from: o.from, cooldownDays: o.cooldownDays, declinedCooldownDays: o.declinedCooldownDays, crmLinkTemplate: o.crmLinkTemplate, unsubscribe: o.listUnsubscribe, logger,
        });
        // Messages are due from the job's own time, so send them on that clock; but not inside the
        // job, which holds a pool connection and the job lock that a slow relay must not hold.
        void mail.drain(at).catch(() => undefined); // logged by the sender
        return { digests: results.map((r) => ({ segment: r.segment, locale: r.locale, status: r.status, customers: r.customers })) };
      },
    },
    {
      name: "retention",
      cron: config.retention.cron,
      timeZone: "UTC",
      // Tables that grow with time are pruned to their windows; the outcome says what went.
      run: (at) => runRetention(db.pool, at, config.retention, logger.child({ component: "retention" })),
    },
    {
      name: "live-quality",
      cron: config.quality.cron,
      timeZone: "UTC",
      // The scores in force one horizon ago graded on what happened since, feature drift against
      // the training rows, the saved KPI; stored, logged (warnings on drift or a weak ranking), exported.
      run: (at) => runLiveQuality({
        pool: db.pool, model: () => models.current(), modelsDir: config.scoring.modelDir, psiThreshold: config.quality.psiThreshold,
        savedPeriodDays: o.kpiPeriodDays, scoreHistoryDays: config.retention.scoreHistoryDays, logger: logger.child({ component: "quality" }), metrics,
      }, at),
    },
  ], logger, { metrics });
  const schedules = options.schedules !== false;
  if (!schedules) scheduler.stop();

  // A promoted model rescores everyone once per cluster (slot = model version).
  // If an hourly rescoring holds the job lock at that moment, its remaining pages already use the
  // new model and the next hourly run covers the rest.
  models.onChange((m) => void scheduler.runNow("rescore-all", `model:${m.artifact.modelVersion}`)
    .catch((err) => logger.error({ err, modelVersion: m.artifact.modelVersion }, "rescoring after model change failed")));

  // Every worker sends due outbox messages; leases keep one message from going out twice, and a
  // tick while this worker's previous drain still runs starts nothing.
  const drainTimer = setInterval(() => mail.tick(), o.drainSeconds * 1000);
  drainTimer.unref();

  // Requests run off the ingest path (an erasure waits for rescoring in flight); the tombstone each
  // one queues is sent by the relay at once.
  const erasures = startErasureRequests({
    pool: db.pool, outboxDir: o.smtpUrl ? null : o.outboxDir, logger: logger.child({ component: "erasure" }),
    onErased: () => relay.wake(),
  });

  const ingest = await startIngest({
    kafka,
    pool: db.pool,
    logger,
    metrics,
    groupId: config.kafka.groupId,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    partitionsConsumedConcurrently: config.kafka.partitionsConcurrency,
    topics: [config.kafka.topics.purchases, config.kafka.topics.support],
    dlqTopic: config.kafka.topics.dlq,
    parse: parseOptionsFrom(config.ingest),
    maxQueuedBytes: config.ingest.queueBytes,
    stateCacheBytes: config.ingest.stateCacheBytes,
    stallMs: config.ingest.stallSeconds * 1000,
    onFatal: (err) => options.onFatal?.(err),
    afterDbCommit: async (ref, outcome) => {
      // Off during bulk backfills (SCORE_AFTER_BATCH=false): the scheduled rescoring covers everyone.
      if (config.scoring.afterBatch) scoring.enqueue(outcome.customers);
      erasures.request(outcome.erasures);
      await options.afterDbCommit?.(ref, outcome);
    },
  });

  // Every worker exports the newest live-quality results (the job runs on one of them once a day),
  // so any replica's scrape has them and a restart does not blank what the model-quality alert reads.
  const exportQuality = () => void exportLiveQuality(db.pool, metrics, config.quality.psiThreshold)
    .catch((err: unknown) => logger.debug({ err }, "could not export live-quality metrics; trying again later"));
  exportQuality();
  const qualityGauge = setInterval(exportQuality, 5 * 60_000);
  qualityGauge.unref();

  const poolGauge = setInterval(() => {
    const p = db.pool;
    metrics.dbPoolConnections.set({ state: "in_use" }, p.totalCount - p.idleCount);
    metrics.dbPoolConnections.set({ state: "idle" }, p.idleCount);
    metrics.dbPoolConnections.set({ state: "waiting" }, p.waitingCount);
  }, 5_000);
  poolGauge.unref();

  let ops: OpsServer | null = null;
  if (options.http !== false) {
    ops = await startOpsServer(config.httpPort, metrics.registry, {
      // Liveness: false only when this worker cannot make progress any more (then it also exits).
      health() {
        const h = ingest.health();
        return { ok: h.fatal === null, checks: { consumer: h.fatal === null ? { ok: true } : { ok: false, error: h.fatal } } };
      },
      // Readiness answers within a second whatever the database does (a frozen server, a full pool).
      ready: () => runChecks({
        database: async () => {
          await db.pool.query("select 1");
          return true;
        },
        consumer: () => {
          const h = ingest.health();
          return { ok: ingest.isReady(), up: h.consumerUp, assigned: h.assigned, stalledPartitions: h.stalled, waitingForOffsets: h.waitingForOffsets };
        },
        model: () => ({ ok: true, version: models.current().artifact.modelVersion }),
      }),
    });
    logger.info({ port: ops.port }, "ops endpoints listening (/healthz, /readyz, /metrics)");
  }
  return {
    db, ingest, models, scoring, relay, scheduler, erasures, transport, mail, metrics, logger,
    httpPort: ops?.port ?? null,
    async digestNow(now = new Date()) {
      const outcome = await scheduler.runNow("digest", `manual:${now.toISOString()}`, now);
      await mail.drain(now);
      return outcome;
    },
    async stop() {
      clearInterval(drainTimer);
      clearInterval(backlogTimer);
      clearInterval(poolGauge);
      clearInterval(qualityGauge);
      scheduler.stop();
      // Aborts a send in flight (its claim is given back, so another worker sends it at once).
      await mail.stop();
      models.stop();
      await ingest.stop();
      // Erasures in flight finish (each is one transaction; an unfinished request stays for the sweep).
      await erasures.stop();
      await scoring.stop();
      // Unsent events stay in the outbox for the next worker (or this one after a restart).
      await relay.stop();
      await sender.stop();
      await threads.close();
      await ops?.close();
      await transport.close();
      await db.close();
    },
  };
}
