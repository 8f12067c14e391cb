/**
 * Behaviour features: events -> per-customer state -> feature vector. Pure functions only; the
 * store persists CustomerState as JSONB, scoring turns vectors into risk.
 */
export {
  emptyState,
  isNewer,
  MAX_PENDING_TICKETS,
  outcomesOf,
  PURCHASE_DAYS_KEPT,
  RECENT_PURCHASES_KEPT,
  STATE_VERSION,
  TICKET_DAYS_KEPT,
  type CustomerState,
  type DayBucket,
  type OutcomeFacts,
  type PendingTicket,
  type Profile,
  type ProfileStamps,
  type PurchaseFacts,
  type RefundFacts,
  type Stamp,
  type Stamped,
  type SurveyFacts,
  type TicketFacts,
} from "./state.js";
export { applyEvent, stateAsOf } from "./apply.js";
export {
  FEATURE_DESCRIPTIONS,
  FEATURE_NAMES,
  FEATURE_SET_PREFIX,
  FEATURE_SET_VERSION,
  type FeatureName,
} from "./names.js";
export { featureRecord, featureVector, MISSING, npsCategory } from "./vector.js";
export {
  DEFAULT_LIFECYCLE_RULE,
  isScored,
  LIFECYCLE_STAGES,
  lifecycleAt,
  SCORED_STAGES,
  type Lifecycle,
  type LifecycleRule,
} from "./lifecycle.js";
