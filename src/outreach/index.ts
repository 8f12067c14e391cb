/**
 * Outreach: segments -> digest and alert e-mails through a durable outbox.
 *
 * Wiring (main.ts / the scheduler; each job under the cluster-wide job lock):
 *   at start:   segments = await loadSegments(env.SEGMENTS_FILE ?? DEFAULT_SEGMENTS_FILE)
 *               transport = createMailTransport({ smtpUrl: env.SMTP_URL, outboxDir: env.OUTBOX_DIR ?? "./outbox" })
 *   DIGEST_CRON (in DIGEST_TIMEZONE):
 *               period = trailingDays(now, 30, tz)
 *               { changes } = await snapshotKpis(pool, { ...period }, previousPeriod(period, tz), now)
 *               await runDigest(pool, { segments, now, timeZone: tz, kpis: changes, baseCurrency, from: MAIL_FROM,
 *                                       cooldownDays: OUTREACH_COOLDOWN_DAYS, crmLinkTemplate: CRM_LINK_TEMPLATE, logger })
 *   after each rescoring, with the levels before it:
 *               await enqueueAlerts(clientOrPool, { segments, changes, now, from, baseCurrency, ratePerHour, logger })
 *   once per worker: sender = startOutboxSender(pool, transport, { logger, metrics })
 *   every OUTBOX_DRAIN_SECONDS (any number of workers at once; one drain at a time per worker):
 *               sender.tick()
 *   at shutdown: await sender.stop(); await transport.close()
 */
export * from "./segments.js";
export * from "./customer.js";
export { renderDigest, type DigestInput, type RenderedDigest } from "./render-digest.js";
export { renderAlert, renderAlertSummary, type AlertInput, type RenderedAlert } from "./render-alert.js";
export { buildRawMessage, messageIdFor, outboxId, type OutgoingMail } from "./message.js";
export {
  DEFAULT_BACKOFF,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_SEND_TIMEOUT_MS,
  drainOutbox,
  enqueueMessage,
  isMessageFailure,
  outboxStatus,
  pendingByKind,
  retryDelayMs,
  type BackoffOptions,
  type DrainOptions,
  type DrainResult,
  type EnqueueResult,
  type OutboxMetrics,
  type OutboxStatus,
  type PendingKind,
} from "./outbox.js";
export { startOutboxSender, type OutboxSender, type OutboxSenderOptions } from "./sender.js";
export {
  createFileTransport,
  createMailTransport,
  createSmtpTransport,
  DEFAULT_SMTP_TIMEOUT_MS,
  envelopeFrom,
  type MailTransport,
  type OutboxItem,
  type SendOptions,
  type SendOutcome,
} from "./transport.js";
export { DEFAULT_RISE_DELTA, inCooldown, selectForDigest, type CooldownRule, type DigestSelection, type Listing } from "./select.js";
export { defaultPeriodLabel, digestDedupeKey, runDigest, type DigestRunResult, type RunDigestOptions } from "./run-digest.js";
export { crossedIntoHigh, enqueueAlerts, type AlertRunResult, type EnqueueAlertsOptions, type RiskChange } from "./alerts.js";
