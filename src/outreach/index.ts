/**
 * Outreach: segments -> digest and alert e-mails through a durable outbox.
 * The scheduler calls runDigest (daily), enqueueAlerts (after each rescoring) and drainOutbox
 * (every minute or so); see the report in the commit history for the wiring.
 */
export * from "./segments.js";
export * from "./customer.js";
export { csvCell, escapeHtml, safeHref, toCsv } from "./escape.js";
export { renderDigest, type DigestInput, type RenderedDigest } from "./render-digest.js";
export { renderAlert, renderAlertSummary, type AlertInput, type RenderedAlert } from "./render-alert.js";
export { buildRawMessage, messageIdFor, outboxId, type OutgoingMail } from "./message.js";
export {
  DEFAULT_BACKOFF,
  DEFAULT_MAX_ATTEMPTS,
  drainOutbox,
  enqueueMessage,
  outboxStatus,
  retryDelayMs,
  type BackoffOptions,
  type DrainOptions,
  type DrainResult,
  type EnqueueResult,
  type OutboxStatus,
} from "./outbox.js";
export {
  createFileTransport,
  createMailTransport,
  createSmtpTransport,
  envelopeFrom,
  type MailTransport,
  type OutboxItem,
  type SendOutcome,
} from "./transport.js";
export { DEFAULT_RISE_DELTA, inCooldown, selectForDigest, type CooldownRule, type DigestSelection, type Listing } from "./select.js";
export { defaultPeriodLabel, digestDedupeKey, runDigest, type DigestRunResult, type RunDigestOptions } from "./run-digest.js";
export { crossedIntoHigh, enqueueAlerts, type AlertRunResult, type EnqueueAlertsOptions, type RiskChange } from "./alerts.js";
