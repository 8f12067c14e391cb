/**
 * Outreach: segments -> digest and alert e-mails through a durable outbox.
 *
 * Wiring (main.ts / the scheduler; each job under the cluster-wide job lock):
 *   at start:   segments = await loadSegments(env.SEGMENTS_FILE ?? DEFAULT_SEGMENTS_FILE)
 *               transport = createMailTransport({ smtpUrl: env.SMTP_URL, outboxDir: env.OUTBOX_DIR ?? "./outbox" })
 *               identity = await mailIdentity(pool, MAIL_FROM, DEPLOYMENT_ID)
 *   DIGEST_CRON (in DIGEST_TIMEZONE):
 *               period = trailingDays(now, 30, tz); previous = previousPeriod(period, tz)
 *               { changes } = await snapshotKpis(pool, { ...period }, previous, now)
 *               await runDigest(pool, { segments, now, timeZone: tz, kpis: changes, kpiPeriod: { current: period, previous },
 *                                       baseCurrency, from: MAIL_FROM, identity, unsubscribe: MAIL_LIST_UNSUBSCRIBE,
 *                                       cooldownDays: OUTREACH_COOLDOWN_DAYS, crmLinkTemplate: CRM_LINK_TEMPLATE, logger })
 *   after each rescoring, with the levels before it:
 *               await enqueueAlerts(clientOrPool, { segments, changes, now, from, baseCurrency, ratePerHour, identity, logger })
 *   once per worker: sender = startOutboxSender(pool, transport, { logger, metrics })
 *   every OUTBOX_DRAIN_SECONDS (any number of workers at once; one drain at a time per worker):
 *               sender.tick()
 *   at shutdown: await sender.stop(); await transport.close()
 */
export * from "./segments.js";
export * from "./customer.js";
export { renderDigest, type AtRiskDigestInput, type DigestInput, type RenderedDigest, type WinbackDigestInput } from "./render-digest.js";
export { WINBACK_CSV_COLUMNS } from "./render-winback.js";
export { renderAlert, renderAlertSummary, type AlertInput, type RenderedAlert } from "./render-alert.js";
export {
  buildRawMessage, checkDeploymentId, defaultUnsubscribe, mailDomain, messageIdFor, messageIdOf, outboxId, unsubscribeUrl,
  type MailIdentity, type MailList, type OutgoingMail,
} from "./message.js";
export { loadDeploymentId, mailIdentity } from "./deployment.js";
export { mailFormat, type MailFormat } from "./format.js";
export { describeTrajectory, loadScoreHistory, trajectoryText, type ScorePoint, type Trajectory } from "./trajectory.js";
export * as i18n from "./i18n/index.js";
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
export {
  afterCooldown, DEFAULT_DECLINED_DAYS, DEFAULT_RISE_DELTA, inCooldown, selectForDigest, selectWinback, winbackCandidates,
  type ContactHistory, type CooldownRule, type DigestSelection, type Listing, type WinbackCandidate, type WinbackSelection,
} from "./select.js";
export {
  defaultPeriodLabel, digestDedupeKey, listingLedger, recipientsKey, runDigest, type DigestRunResult, type RunDigestOptions,
} from "./run-digest.js";
export { crossedIntoHigh, enqueueAlerts, type AlertRunResult, type EnqueueAlertsOptions, type RiskChange } from "./alerts.js";
