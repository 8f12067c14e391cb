/**
 * One simulated customer: a day-stepped process over latent traits that the worker never sees
 * (satisfaction, engagement, problem-proneness, purchase and dropout rates) and that drive
 * everything it does see.
 *
 * Causal chain, so that the signals a model can learn are the ones that cause churn here:
 *   problems (tickets, SLA breaches, escalations, refunds) -> lower satisfaction (more for some
 *     customers than for others)
 *   lower satisfaction -> lower survey scores, more background tickets, lower engagement
 *   lower engagement -> longer gaps between purchases
 *   all of the above (+ onboarding) -> the signal-driven churn hazard
 * Beside it run the parts of real life that no event shows, which is where a churn model's doubt
 * comes from (docs/simulator.md lists the targets and the measured figures):
 *   - "buy till you die": each customer's purchase rate is drawn from a gamma distribution (NBD),
 *     and after every order the customer may never order again, with a chance drawn per customer
 *     from a Beta distribution (BG/NBD): many one-off buyers, a loyal core, and departures right
 *     after an order, with no decline before; a small silent daily hazard besides (life events);
 *   - first-time buyers who do come back mostly take months to;
 *   - lapses: a share of departures, larger for loyal customers, are breaks of months after which
 *     the customer returns; until then they look exactly like churn. Pauses out of the blue too;
 *   - former customers still answer a relationship survey now and then, so silence in every
 *     channel is not proof either;
 *   - people who rate harshly or kindly whatever they feel, and who shrug off bad support or not.
 * A churned customer stops buying; some complain on the way out, some send a cancellation.
 *
 * Events come out of drainBefore() in time order per customer: a day is fully simulated before any
 * of its events are released, and events scheduled later (ticket resolutions, refunds, surveys) wait in a
 * small queue until the simulation has passed their time. That lets the generator advance all
 * customers slice by slice and stream a whole population in global time order.
 */
import type { ChurnEvent, SupportTicketOpenedEvent } from "../events/schema.js";
import { DAY_MS, HOUR_MS, customerIdOf, type SimContext } from "./options.js";
import { PERSONAS, PERSONA_WEIGHTS, RETAIL_SEASON, type Persona } from "./personas.js";
import { makeIdentity, asciiFold } from "./names.js";
import { Rng } from "./random.js";
import { isoSecond } from "./time.js";
import type { ChurnDriver, CustomerTruth } from "./truth.js";

/** An event with its time as epoch ms (for ordering without re-parsing ISO strings). */
export interface TimedEvent {
  at: number;
  event: ChurnEvent;
}

interface Queued extends TimedEvent {
  /** Customer-initiated events (surveys) must not appear after the customer has left. */
  byCustomer: boolean;
}

interface Order {
  orderId: string;
  amount: number;
}

type Action =
  | { at: number; kind: "issue"; order: Order; category: string }
  | { at: number; kind: "ticket_closed"; breached: boolean; escalated: boolean; hours: number }
  | { at: number; kind: "refund"; partial: boolean };

type Priority = SupportTicketOpenedEvent["priority"];
const PRIORITIES: readonly Priority[] = ["low", "normal", "high", "urgent"];
const PRIORITY_WEIGHTS = [25, 50, 18, 7];
// A customer on the way out writes angrily: mostly high/urgent.
const COMPLAINT_PRIORITY_WEIGHTS = [0, 3, 5, 2];
/** Typical SLA targets (hours to resolution) and the median actually achieved. */
const SLA_HOURS: Record<Priority, number> = { low: 120, normal: 72, high: 24, urgent: 8 };
const MEDIAN_RESOLUTION_HOURS: Record<Priority, number> = { low: 50, normal: 30, high: 10, urgent: 3.5 };
const ESCALATED_AT_OPEN: Record<Priority, number> = { low: 0.02, normal: 0.04, high: 0.12, urgent: 0.25 };

const TICKET_CHANNELS = ["email", "chat", "phone", "web_form"];
const TICKET_CHANNEL_WEIGHTS = [40, 30, 20, 10];
const ORDER_CHANNELS = ["web", "app", "store", "phone"];
const ORDER_CHANNEL_WEIGHTS = [55, 30, 10, 5];
const ORDER_ISSUES = ["delivery", "product", "returns"];
const BACKGROUND_ISSUES = ["billing", "account", "technical", "other"];
const RESOLUTIONS = ["resolved", "resolved", "resolved", "workaround", "replaced", "no_fault_found", "duplicate"];

// Relative activity by UTC hour: online shopping peaks in the evening, support in office hours.
const PURCHASE_HOURS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 4, 4.5, 5, 5.5, 5, 4.5, 4.5, 5, 5.5, 6.5, 7.5, 8, 7, 5, 2.5];
const SUPPORT_HOURS = [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 2, 5, 7, 7, 6.5, 5, 6, 6.5, 6, 5, 3.5, 2.5, 2, 1.5, 1.2, 0.8, 0.5];

// The numbers below are tuned together against the targets in docs/simulator.md (recency rule
// near 0.75-0.8 ROC AUC, the model clearly better but far from perfect); change one and re-measure.

/**
 * Baseline daily hazard of the signal-driven ("experience") churn. The linear predictor it is
 * multiplied with (signalHazard) is steep in satisfaction and recent trouble, so this churn falls
 * mostly on customers whose events show it, but only through noisy surveys and tickets.
 */
const BASE_HAZARD = 0.0004;
/**
 * Mean daily hazard of leaving for reasons no event shows (Pareto/NBD's dropout rate), gamma-
 * distributed across customers with shape LIFE_HAZARD_SHAPE. Small next to the dropout after an
 * order below, which carries most of the "nothing foretold it" churn.
 */
const LIFE_HAZARD = 0.0001;
const LIFE_HAZARD_SHAPE = 0.8;
const LIFE_REASONS = ["moved away", "no longer needed", "moved to competitor", "too expensive"];
/**
 * BG/NBD's dropout: after each order the customer may never order again, with a probability p drawn
 * per customer from Beta(DROPOUT_A, DROPOUT_B) (mean 0.29). The skew makes many one-off buyers and
 * a loyal core with p near 0; customers who already bought many times are mostly the loyal kind,
 * which is what gives purchase frequency its meaning in real histories.
 */
const DROPOUT_A = 1;
const DROPOUT_B = 2.5;
/** How strongly a customer's basket size falls with their dropout chance (see the constructor). */
const BASKET_DROPOUT_LINK = 2;
/**
 * A first-time buyer's second order comes this many usual gaps later: most new customers who do
 * come back take months, so a single order followed by silence is ambiguous for a long time.
 */
const SECOND_ORDER_GAP_FACTOR = 4;
/** Recent-problem counters forget with a 60-day half-life: old trouble is forgiven. */
const COUNTER_DECAY = Math.pow(0.5, 1 / 60);
/**
 * Share of departures that fade out first (weeks of buying at WITHDRAWAL_PURCHASE_RATE of the
 * usual rate, grumpier survey answers, often a complaint) rather than ending from one day to the
 * next: most unhappy customers fade, most life events do not.
 */
const SIGNAL_FADE_SHARE = 0.8;
const LIFE_FADE_SHARE = 0.15;
const WITHDRAWAL_MEAN_DAYS = 50;
const WITHDRAWAL_PURCHASE_RATE = 0.15;
/**
 * Lapses: a departure that turns out not to be one (see lapse()). The chance rises with the
 * purchases made so far, to WINBACK_SHARE for the most loyal (half of it at WINBACK_HALF_PURCHASES
 * purchases): regulars come back after a break, one-off buyers rarely do. They stay away a
 * log-normal with a median of WINBACK_MEDIAN_DAYS, most between three and thirteen months.
 */
const WINBACK_SHARE = 0.6;
const WINBACK_HALF_PURCHASES = 6;
const WINBACK_MEDIAN_DAYS = 180;
const WINBACK_SIGMA = 0.5;
/**
 * Pauses out of the blue (busy months, a long trip): on average one every PAUSE_MEAN_INTERVAL_DAYS
 * per customer (times the persona's factor), lasting a log-normal PAUSE_MEDIAN_DAYS, buying at
 * PAUSE_PURCHASE_RATE of the usual rate.
 */
const PAUSE_MEAN_INTERVAL_DAYS = 3000;
const PAUSE_MEDIAN_DAYS = 100;
const PAUSE_SIGMA = 0.6;
const PAUSE_PURCHASE_RATE = 0.02;
/** Someone away (pausing or lapsed) rarely contacts support or answers surveys either. */
const PAUSE_CONTACT_RATE = 0.15;
/** Per-customer purchase-rate multiplier bounds: no customer buys every day or once a decade. */
const RATE_MIN = 0.12;
const RATE_MAX = 5;
/** Relationship (NPS) surveys: about one answer every two months from an active customer. */
const NPS_SURVEY_DAILY = 1 / 60;
/** Former customers (left without cancelling) answer relationship surveys at this share of the rate. */
const FORMER_CUSTOMER_SURVEY_RATE = 0.5;
const PROFILE_UPDATE_DAILY = 1 / 2500;
/** Rejection bound for acquisitionTime(): the largest RETAIL_SEASON factor. */
const ACQUISITION_SEASON_PEAK = Math.max(...RETAIL_SEASON);

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Whole seconds: ISO strings then have no fractional part and sort exactly like the numbers. */
function toSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export class CustomerSim {
  readonly index: number;
  readonly customerId: string;
  private readonly ctx: SimContext;
  private readonly rng: Rng;
  private readonly persona: Persona;
  private readonly idPrefix: string;
  private readonly number: string;
  private readonly currency: string;
  /** Divisor from base-currency prices to this customer's currency. */
  private readonly rateToBase: number;
  private readonly locale: string;
  private readonly firstName: string;
  private readonly lastName: string;
  private readonly signedUpAt: number;
  private readonly preferredChannel: string;
  /** Nothing is simulated before this instant (the signup, or the window start). */
  private readonly activeFrom: number;

  // Latent traits and state.
  private readonly meanInterval: number;
  private readonly basketMedian: number;
  /** Multiplier on ticket and issue rates: some customers (or their products) just break more. */
  private readonly proneness: number;
  /** Daily hazard of leaving for reasons no event shows (before onboarding). */
  private readonly lifeHazard: number;
  /** About how many purchases an existing customer made before the window (none for new ones). */
  private readonly priorPurchases: number;
  /** Chance of not coming back after a purchase (BG/NBD's p). */
  private readonly dropout: number;
  /** Daily chance of starting a pause. */
  private readonly pauseRate: number;
  /** How much support trouble hurts satisfaction: some customers shrug it off, some never forget. */
  private readonly sensitivity: number;
  /** Scale use in surveys, in NPS points: some rate 6 when content, some 10 when lukewarm. */
  private readonly raterBias: number;
  /** Per-day drift of the satisfaction baseline: some relationships sour slowly. */
  private readonly drift: number;
  private satisfactionBase: number;
  private satisfaction: number;
  private readonly satisfactionStart: number;
  private engagement: number;
  /** Drops on "life events" (moved, no longer needs the product): disengagement without anger. */
  private lifeFactor = 1;
  private clock = 0;
  private nextGap: number;
  private recentTickets = 0;
  private recentBreaches = 0;
  private recentEscalations = 0;
  private recentRefunds = 0;

  private day: number;
  private frontier: number;
  private alive = true;
  private churnedAt: number | null = null;
  /** When the hidden decision to leave was taken; churnedAt follows after the withdrawal phase. */
  private decidedAt: number | null = null;
  private leaveAt = Infinity;
  /** This departure is a lapse: it looks exactly like churn, but the customer returns months later. */
  private comesBack = false;
  private churnReason: string | null = null;
  private churnPath: "faded" | "sudden" | null = null;
  private churnDriver: ChurnDriver | null = null;
  private cancelled = false;
  /** End of the current pause (epoch ms); in the past when the customer is not pausing. */
  private pausedUntil = -Infinity;
  private pauses = 0;
  private pausedDays = 0;

  private eventCount = 0;
  private orderCount = 0;
  private ticketCount = 0;
  private profileCount = 0;
  private purchases = 0;
  private tickets = 0;
  private surveys = 0;
  private lastPurchaseAt: number | null = null;
  private readonly out: Queued[] = [];
  private agenda: Action[] = [];

  constructor(ctx: SimContext, index: number) {
    this.ctx = ctx;
    this.index = index;
    this.customerId = customerIdOf(index);
    this.number = String(index).padStart(6, "0");
    this.idPrefix = `${ctx.seed}-${this.customerId}-`;
    const rng = (this.rng = new Rng(ctx.seed, index));

    this.persona = PERSONAS[rng.weightedIndex(PERSONA_WEIGHTS)] ?? (PERSONAS[0] as Persona);
    const foreign = ctx.foreign !== null && rng.chance(ctx.foreign.share);
    this.currency = foreign && ctx.foreign ? ctx.foreign.code : ctx.currency;
    this.rateToBase = foreign && ctx.foreign ? ctx.foreign.rateToBase : 1;
    const identity = makeIdentity(rng, index, foreign);
    this.locale = identity.locale;
    this.firstName = identity.first;
    this.lastName = identity.last;
    this.preferredChannel = ORDER_CHANNELS[rng.weightedIndex(ORDER_CHANNEL_WEIGHTS)] ?? "web";

    // NBD: each customer's own purchase rate, gamma-distributed around the persona's.
    const shape = this.persona.rateShape;
    const rate = clamp(rng.gamma(shape, 1 / shape), RATE_MIN, RATE_MAX);
    this.meanInterval = this.persona.intervalDays / rate;
    const basketMedian = rng.logNormal(this.persona.basketMedian, 0.3);
    this.proneness = rng.logNormal(1, 0.7);
    this.lifeHazard = rng.gamma(LIFE_HAZARD_SHAPE, (LIFE_HAZARD * this.persona.hazard) / LIFE_HAZARD_SHAPE);
    this.pauseRate = this.persona.pauses / PAUSE_MEAN_INTERVAL_DAYS;
    this.sensitivity = rng.logNormal(1, 0.6);
    this.raterBias = 1.1 * rng.normal();
    this.drift = 0.0006 * rng.normal();
    this.satisfactionBase = clamp(this.persona.satisfaction + 0.15 * rng.normal(), 0.05, 0.98);
    this.satisfaction = this.satisfactionBase;
    this.satisfactionStart = this.satisfaction;
    this.engagement = this.engagementTarget();
    this.nextGap = this.drawGap();

    let profileAt: number;
    const existing = rng.chance(ctx.existingShare);
    // Customers who were already there at the window start survived the purchases they made so
    // far: their dropout chance is drawn from the Beta posterior after that many purchases, so the
    // one-off buyers among them have already gone.
    const tenureAtStart = existing ? rng.int(30, 1095) : 0;
    this.priorPurchases = tenureAtStart / this.meanInterval;
    this.dropout = rng.beta(DROPOUT_A, DROPOUT_B + this.priorPurchases);
    // One-off buyers tend to place small trial orders; the loyal core fills bigger baskets. Without
    // this link, total spend would only echo purchase count (RFM's M adding nothing to its F).
    this.basketMedian = basketMedian * Math.exp(-BASKET_DROPOUT_LINK * (this.dropout - 0.3));
    if (existing) {
      // Tenure at the window start: a month to three years.
      this.signedUpAt = toSecond(ctx.startMs - tenureAtStart * DAY_MS - rng.next() * DAY_MS);
      // A CRM backfill at the window start; tenure comes from signedUpAt.
      profileAt = toSecond(ctx.startMs + rng.next() * HOUR_MS);
      // Mid-rhythm: the next purchase falls anywhere in the current interval, not on day one.
      this.clock = rng.next() * this.nextGap;
      // Some were away (pausing or lapsed) when the window opened.
      if (rng.chance(0.1 * this.persona.pauses)) this.pausedUntil = ctx.startMs + rng.next() * this.pauseDays() * DAY_MS;
    } else {
      this.signedUpAt = toSecond(this.acquisitionTime());
      profileAt = this.signedUpAt;
      // Most people sign up to buy something now; some only browse and buy later, if ever.
      if (rng.chance(0.85)) this.nextGap = rng.exponential(1.5);
    }
    this.activeFrom = profileAt;
    this.day = Math.floor((profileAt - ctx.firstDayMs) / DAY_MS);
    this.frontier = profileAt;
    this.emit(profileAt, this.profileEvent(profileAt, identity.email), true);
  }

  /**
   * When a customer who joins inside the window signs up: more often in the busy months, as
   * shoppers do (Black Friday and Christmas bring new customers, not only orders).
   */
  private acquisitionTime(): number {
    const { startMs, endMs, firstDayMs, months } = this.ctx;
    for (;;) {
      const at = startMs + this.rng.next() * (endMs - startMs);
      const season = RETAIL_SEASON[months[Math.floor((at - firstDayMs) / DAY_MS)] ?? 0] ?? 1;
      if (this.rng.next() * ACQUISITION_SEASON_PEAK < season) return at;
    }
  }

  /**
   * Appends every event before `until` to `sink` in this customer's order, simulating as far as
   * needed; returns false once the customer's history is complete.
   */
  drainBefore(until: number, sink: (e: TimedEvent, index: number) => void): boolean {
    for (;;) {
      const head = this.out[0];
      if (head !== undefined && head.at < this.frontier && head.at < until) {
        this.out.shift();
        this.count(head);
        sink(head, this.index);
        continue;
      }
      // Everything still to be generated happens at or after the frontier.
      if (this.frontier >= until) return this.frontier !== Infinity || this.out.length > 0;
      this.step();
    }
  }

  /** Counted on release, so events withdrawn by a churn are not counted. */
  private count({ at, event }: TimedEvent): void {
    if (event.type === "purchase") {
      this.purchases++;
      this.lastPurchaseAt = at;
    } else if (event.type === "support_ticket_opened") this.tickets++;
    else if (event.type === "survey_response") this.surveys++;
  }

  truth(): CustomerTruth {
    return {
      customerId: this.customerId,
      persona: this.persona.name,
      signedUpAt: this.signedUpAt,
      churnedAt: this.churnedAt,
      decidedAt: this.decidedAt,
      cancelled: this.cancelled,
      churnReason: this.churnReason,
      churnPath: this.churnPath,
      churnDriver: this.churnDriver,
      pauses: this.pauses,
      pausedDays: Math.round(this.pausedDays),
      currency: this.currency,
      locale: this.locale,
      purchases: this.purchases,
      tickets: this.tickets,
      surveys: this.surveys,
      lastPurchaseAt: this.lastPurchaseAt,
      satisfactionStart: round2(this.satisfactionStart),
      satisfactionEnd: round2(this.satisfaction),
    };
  }

  // ---- the day step ------------------------------------------------------------------------

  private step(): void {
    const ctx = this.ctx;
    const dayIndex = this.day++;
    const t0 = ctx.firstDayMs + dayIndex * DAY_MS;
    if (t0 >= ctx.endMs) {
      this.frontier = Infinity;
      return;
    }
    const t1 = t0 + DAY_MS;
    const lo = Math.max(t0, this.activeFrom);
    const rng = this.rng;
    const tenureDays = (t0 - this.signedUpAt) / DAY_MS;

    // The decision to leave is drawn on the state at the start of the day, before its activity.
    if (this.decidedAt === null) this.maybeDecide(tenureDays, lo, t1);
    if (this.leaveAt < t1) {
      if (!this.comesBack) {
        this.churn(lo, Math.max(lo, this.leaveAt));
        return;
      }
      this.lapse(Math.max(lo, this.leaveAt));
    }

    this.runDueActions(t1);

    // A pause is a stretch of months with (almost) no purchases that ends in a return. One that has
    // begun runs its course; a customer who has decided to leave does not start one.
    let paused = this.pausedUntil > t0;
    if (!paused && this.decidedAt === null && rng.next() < this.pauseRate) {
      this.pausedUntil = t0 + this.pauseDays() * DAY_MS;
      this.pauses++;
      paused = true;
    }
    if (paused) this.pausedDays++;

    const contact = paused ? PAUSE_CONTACT_RATE : 1;
    if (rng.next() < this.ticketRate() * contact) {
      this.openTicket(this.timeInDay(t0, lo, SUPPORT_HOURS), rng.pick(BACKGROUND_ISSUES), null);
    }

    // Purchases follow a renewal process in "operational time": the clock runs faster in high
    // season and slower when engagement falls, which stretches the gaps of disengaging customers.
    // Fading customers buy less; sudden leavers have nothing left to buy before they go.
    const withdrawal = this.churnPath === null ? 1 : this.churnPath === "faded" ? WITHDRAWAL_PURCHASE_RATE : 0;
    const pace = paused ? PAUSE_PURCHASE_RATE : 1;
    this.clock += (this.persona.season[ctx.months[dayIndex] ?? 0] ?? 1) * this.engagement * withdrawal * pace;
    // The order after which a customer drops out is the day's last.
    for (let n = 0; n < 3 && this.clock >= this.nextGap && this.churnDriver !== "last_order"; n++) {
      this.clock -= this.nextGap;
      this.nextGap = this.drawGap();
      this.purchase(this.timeInDay(t0, lo, PURCHASE_HOURS), ctx.months[dayIndex] ?? 0);
    }

    if (rng.next() < NPS_SURVEY_DAILY * contact) this.relationshipSurvey(this.timeInDay(t0, lo, PURCHASE_HOURS));
    if (rng.next() < PROFILE_UPDATE_DAILY) this.profileUpdate(this.timeInDay(t0, lo, PURCHASE_HOURS));

    // Actions scheduled during the day for later that same day (a ticket opened this morning and
    // closed this afternoon) must run before the frontier passes them, or their events would be
    // released after later ones.
    this.runDueActions(t1);
    this.evolve();
    this.frontier = t1;
  }

  /**
   * The two daily hazards (the third way out, dropping out after an order, is in purchase()). The
   * life hazard is this customer's own constant rate (times onboarding) and nothing the worker sees
   * moves it; the signal hazard is baseline x onboarding x exp(linear predictor) over the latent
   * state, so each signal raises the risk by a factor and no single one is needed for a customer to
   * leave. Which of the two fired decides how the customer goes: unhappy customers mostly fade out
   * first, life events mostly end things at once. Either departure may turn out to be a lapse.
   */
  private maybeDecide(tenureDays: number, lo: number, t1: number): void {
    const rng = this.rng;
    // New customers decide quickly whether they stay: 5x hazard on day one, ~1.4x after 3 months.
    const onboarding = tenureDays < 400 ? 1 + 4 * Math.exp(-tenureDays / 40) : 1;
    const life = this.lifeHazard * onboarding;
    const u = rng.next();
    if (u >= life + this.signalHazard(tenureDays, onboarding)) return;
    this.decidedAt = toSecond(lo);
    this.comesBack = rng.chance(this.winbackChance());
    const fromLife = u < life;
    this.churnDriver = fromLife ? "life_event" : "experience";
    this.churnReason = fromLife ? rng.pick(LIFE_REASONS) : this.dominantReason();
    if (rng.chance(fromLife ? LIFE_FADE_SHARE : SIGNAL_FADE_SHARE)) {
      // A few weeks of buying less and answering surveys grumpily: the window in which a retention
      // team can still act.
      this.churnPath = "faded";
      this.leaveAt = lo + rng.exponential(WITHDRAWAL_MEAN_DAYS) * DAY_MS;
      this.satisfaction = clamp(this.satisfaction - 0.1, 0, 1);
      // The complaint comes at the start of the fade, weeks before the customer is gone.
      if (rng.chance(this.complaintChance())) {
        this.openTicket(this.timeInDay(lo - (lo % DAY_MS), lo, SUPPORT_HOURS), "complaint", null);
      }
    } else {
      // From one day to the next (a move, a competitor's offer, a bad last experience).
      this.churnPath = "sudden";
      this.leaveAt = lo + rng.next() * (t1 - lo);
    }
  }

  private signalHazard(tenureDays: number, onboarding: number): number {
    const x =
      7 * (0.65 - this.satisfaction) +
      1.125 * this.recentBreaches +
      0.75 * this.recentEscalations +
      0.5 * this.recentTickets +
      0.875 * this.recentRefunds +
      2 * Math.max(0, 1 - this.engagement) +
      (this.orderCount === 0 && tenureDays > 14 ? 0.7 : 0);
    return Math.min(0.1, BASE_HAZARD * this.persona.hazard * onboarding * Math.exp(x));
  }

  /** Loyal customers come back after a break far more often than one-off buyers do. */
  private winbackChance(): number {
    const n = this.priorPurchases + this.orderCount;
    return (WINBACK_SHARE * n) / (n + WINBACK_HALF_PURCHASES);
  }

  /**
   * The departure that turns out not to be one: the customer tried a competitor, or life got in the
   * way, and comes back after months. Until then nothing distinguishes them from a churner, which
   * is why even a long silence is never certain churn. In the truth it is a pause, not a churn.
   */
  private lapse(at: number): void {
    this.pausedUntil = at + this.rng.logNormal(WINBACK_MEDIAN_DAYS, WINBACK_SIGMA) * DAY_MS;
    this.pauses++;
    this.decidedAt = null;
    this.churnPath = null;
    this.churnDriver = null;
    this.churnReason = null;
    this.leaveAt = Infinity;
    this.comesBack = false;
    // Whatever drove them away has faded by the time they return.
    this.satisfaction = clamp(this.satisfaction + 0.1, 0, 1);
  }

  /** Length of one pause in days: a median of about three months, most between one and nine. */
  private pauseDays(): number {
    return this.rng.logNormal(PAUSE_MEDIAN_DAYS, PAUSE_SIGMA);
  }

  private ticketRate(): number {
    // Unhappy customers contact support about things happy ones shrug off.
    return (this.proneness / 220) * (0.4 + 1.4 * (1 - this.satisfaction));
  }

  private engagementTarget(): number {
    return clamp(0.1 + 1.35 * this.satisfaction, 0.2, 1.3) * this.lifeFactor;
  }

  private evolve(): void {
    const rng = this.rng;
    this.recentTickets *= COUNTER_DECAY;
    this.recentBreaches *= COUNTER_DECAY;
    this.recentEscalations *= COUNTER_DECAY;
    this.recentRefunds *= COUNTER_DECAY;
    this.satisfactionBase = clamp(this.satisfactionBase + this.drift, 0.05, 0.98);
    // Shocks fade back towards the baseline within a few months.
    this.satisfaction = clamp(
      this.satisfaction + 0.015 * (this.satisfactionBase - this.satisfaction) + (rng.next() - 0.5) * 0.03,
      0,
      1,
    );
    if (rng.next() < 1 / 1500) this.lifeFactor *= 0.45;
    this.engagement += 0.03 * (this.engagementTarget() - this.engagement);
  }

  private drawGap(): number {
    const k = this.persona.intervalShape;
    return this.rng.gamma(k, this.meanInterval / k);
  }

  // ---- churn -------------------------------------------------------------------------------

  private churn(lo: number, leaveAt: number): void {
    const rng = this.rng;
    const at = toSecond(leaveAt);
    this.alive = false;
    this.churnedAt = at;
    const reason = this.churnReason ?? this.dominantReason();
    // Dissatisfied customers often say why on their way out (fading ones did so when they decided).
    if (this.churnPath !== "faded" && rng.chance(this.complaintChance())) {
      this.openTicket(toSecond(lo + rng.next() * (at - lo)), "complaint", null);
    }
    if (rng.chance(0.4)) {
      this.cancelled = true;
      this.emit(at, { eventId: this.nextId(), customerId: this.customerId, occurredAt: isoSecond(at), schemaVersion: 1, type: "cancellation", reason }, true);
    }
    // What the customer would have done later does not happen; what the company owes them
    // (ticket resolutions, refunds) still does.
    for (let i = this.out.length - 1; i >= 0; i--) {
      const q = this.out[i] as Queued;
      if (q.byCustomer && q.at > at) this.out.splice(i, 1);
    }
    this.agenda = [];
    // Someone who left without cancelling is still on the survey list, and now and then answers:
    // a former customer is not perfectly silent, so "no event at all" does not prove churn.
    if (!this.cancelled) {
      const meanDays = 1 / (NPS_SURVEY_DAILY * FORMER_CUSTOMER_SURVEY_RATE);
      for (let t = at + rng.exponential(meanDays) * DAY_MS; t < this.ctx.endMs; t += rng.exponential(meanDays) * DAY_MS) {
        this.relationshipSurvey(toSecond(t));
      }
    }
    this.frontier = Infinity;
  }

  private complaintChance(): number {
    return 0.15 + 0.45 * (1 - this.satisfaction);
  }

  private dominantReason(): string {
    if (this.recentBreaches >= 0.5 || this.recentEscalations >= 0.7) return "poor support experience";
    if (this.recentRefunds >= 0.5) return "product quality issues";
    if (this.satisfaction < 0.4) return "not satisfied with the service";
    if (this.lifeFactor < 1 || this.engagement < 0.5) return "no longer needed";
    return this.rng.pick(["moved to competitor", "too expensive", "no longer needed"]);
  }

  // ---- activities ----------------------------------------------------------------------------

  private purchase(at: number, month: number): void {
    const rng = this.rng;
    const k = ++this.orderCount;
    // A first-time buyer takes much longer to come back than a regular does between orders.
    if (k === 1 && this.priorPurchases === 0) this.nextGap *= SECOND_ORDER_GAP_FACTOR;
    const orderId = `ord-${this.ctx.seed}-${this.number}-${k}`;
    const items = 1 + rng.poisson(this.persona.extraItems);
    // Bigger baskets with more items, but less than proportionally (people add cheap extras).
    const sizeFactor = Math.sqrt(items / (1 + this.persona.extraItems));
    const gifts = month >= 10 ? 1.15 : 1;
    const amount = round2(rng.logNormal(this.basketMedian * sizeFactor * gifts, this.persona.basketSigma) / this.rateToBase);
    const channel = rng.chance(0.8) ? this.preferredChannel : (ORDER_CHANNELS[rng.weightedIndex(ORDER_CHANNEL_WEIGHTS)] ?? "web");
    const order: Order = { orderId, amount };
    this.emit(at, { eventId: this.nextId(), customerId: this.customerId, occurredAt: isoSecond(at), schemaVersion: 1, type: "purchase", orderId, amount, currency: this.currency, quantity: items, channel }, true);
    if (this.decidedAt === null && rng.chance(this.dropout)) {
      // This order was the last one (BG/NBD): nothing in the events says so; the customer is gone
      // within days, with no decline before.
      this.decidedAt = at;
      this.comesBack = rng.chance(this.winbackChance());
      this.churnPath = "sudden";
      this.churnDriver = "last_order";
      this.churnReason = rng.pick(LIFE_REASONS);
      this.leaveAt = at + HOUR_MS + rng.exponential(3) * DAY_MS;
    }

    // Something goes wrong with some orders (late, broken, wrong): a ticket a few days later.
    if (rng.chance(Math.min(0.5, 0.045 * this.proneness))) {
      this.schedule({ at: toSecond(at + rng.logNormal(3, 0.5) * DAY_MS), kind: "issue", order, category: rng.pick(ORDER_ISSUES) });
    } else if (rng.chance(0.025)) {
      // A plain return: refunded without anyone needing to call.
      const refundAt = toSecond(at + rng.logNormal(10, 0.4) * DAY_MS);
      this.refund(refundAt, order, rng.chance(0.3), "return");
    }
    if (rng.chance(0.03)) {
      const surveyAt = toSecond(at + rng.logNormal(2, 0.5) * DAY_MS);
      this.emit(surveyAt, { eventId: this.nextId(), customerId: this.customerId, occurredAt: isoSecond(surveyAt), schemaVersion: 1, type: "survey_response", csat: this.csat(0) }, true);
    }
  }

  private openTicket(at: number, category: string, order: Order | null): void {
    const rng = this.rng;
    const k = ++this.ticketCount;
    const ticketId = `tkt-${this.ctx.seed}-${this.number}-${k}`;
    const complaint = category === "complaint";
    const priority = PRIORITIES[rng.weightedIndex(complaint ? COMPLAINT_PRIORITY_WEIGHTS : PRIORITY_WEIGHTS)] ?? "normal";
    const escalatedAtOpen = rng.chance(ESCALATED_AT_OPEN[priority]);
    const channel = TICKET_CHANNELS[rng.weightedIndex(TICKET_CHANNEL_WEIGHTS)] ?? "email";
    this.emit(at, { eventId: this.nextId(), customerId: this.customerId, occurredAt: isoSecond(at), schemaVersion: 1, type: "support_ticket_opened", ticketId, priority, category, channel, escalated: escalatedAtOpen }, true);

    // Resolution times are heavy-tailed; escalations take longer, and slow tickets get escalated.
    let hours = Math.max(5 / 60, rng.logNormal(MEDIAN_RESOLUTION_HOURS[priority], 0.9)) * (escalatedAtOpen ? 1.8 : 1);
    const escalatedLater = !escalatedAtOpen && rng.chance(hours > SLA_HOURS[priority] ? 0.2 : 0.05);
    if (escalatedLater) hours *= 1.4;
    const escalated = escalatedAtOpen || escalatedLater;
    const breached = hours > SLA_HOURS[priority];
    const resolvedAt = toSecond(at + hours * HOUR_MS);
    const refunded = order !== null && rng.chance(0.45);
    const resolution = refunded ? "refunded" : complaint ? "acknowledged" : rng.pick(RESOLUTIONS);
    this.emit(
      resolvedAt,
      { eventId: this.nextId(), customerId: this.customerId, occurredAt: isoSecond(resolvedAt), schemaVersion: 1, type: "support_ticket_resolved", ticketId, slaBreached: breached, escalated, resolution },
      false,
    );
    if (refunded && order) this.refund(resolvedAt, order, rng.chance(0.5), category === "delivery" ? "late delivery" : "damaged item");

    this.recentTickets += 1;
    this.satisfaction = clamp(this.satisfaction - 0.03 * this.sensitivity, 0, 1);
    // Breach and escalation are felt (and visible in the data) when the ticket closes, not before.
    if (this.alive) this.schedule({ at: resolvedAt, kind: "ticket_closed", breached, escalated, hours });
  }

  private refund(at: number, order: Order, partial: boolean, reason: string): void {
    const amount = partial ? round2(order.amount * (0.2 + 0.5 * this.rng.next())) : order.amount;
    this.emit(at, { eventId: this.nextId(), customerId: this.customerId, occurredAt: isoSecond(at), schemaVersion: 1, type: "refund", orderId: order.orderId, amount, currency: this.currency, reason }, false);
    if (this.alive) this.schedule({ at, kind: "refund", partial });
  }

  private runDueActions(until: number): void {
    while (this.alive && this.agenda.length > 0 && (this.agenda[0] as Action).at < until) this.run(this.agenda.shift() as Action);
  }

  private run(action: Action): void {
    switch (action.kind) {
      case "issue":
        this.openTicket(action.at, action.category, action.order);
        break;
      case "ticket_closed": {
        if (action.breached) {
          this.recentBreaches += 1;
          this.satisfaction -= 0.07 * this.sensitivity;
        }
        if (action.escalated) {
          this.recentEscalations += 1;
          this.satisfaction -= 0.04 * this.sensitivity;
        }
        if (!action.breached && action.hours < 24) this.satisfaction += 0.01;
        this.satisfaction = clamp(this.satisfaction, 0, 1);
        // Post-ticket survey: CSAT for the interaction, CES for how hard it was.
        if (this.rng.chance(0.35)) {
          const at = toSecond(action.at + this.rng.logNormal(5, 0.8) * HOUR_MS);
          const effort = (action.breached ? 0.25 : 0) + (action.escalated ? 0.15 : 0);
          this.emit(at, { eventId: this.nextId(), customerId: this.customerId, occurredAt: isoSecond(at), schemaVersion: 1, type: "survey_response", csat: this.csat(effort), ces: this.ces(effort) }, true);
        }
        break;
      }
      case "refund":
        this.recentRefunds += action.partial ? 0.6 : 1;
        this.satisfaction = clamp(this.satisfaction - 0.02 * this.sensitivity, 0, 1);
        break;
    }
  }

  private relationshipSurvey(at: number): void {
    // Centred so that a typical customer (satisfaction 0.7) answers 8: retail NPS is usually positive.
    const nps = clamp(Math.round(11 * this.satisfaction + 0.3 + this.raterBias + 1.3 * this.rng.normal()), 0, 10);
    const event: ChurnEvent = this.rng.chance(0.5)
      ? { eventId: this.nextId(), customerId: this.customerId, occurredAt: isoSecond(at), schemaVersion: 1, type: "survey_response", nps, csat: this.csat(0) }
      : { eventId: this.nextId(), customerId: this.customerId, occurredAt: isoSecond(at), schemaVersion: 1, type: "survey_response", nps };
    this.emit(at, event, true);
  }

  /** `penalty` (0..1) lowers the perceived experience of this one interaction. */
  private csat(penalty: number): number {
    // The same scale use as in NPS answers, in CSAT's units (an NPS point is 1/11 of the range).
    return clamp(Math.round(1 + 4 * (this.satisfaction - penalty + this.raterBias / 11) + 0.7 * this.rng.normal()), 1, 5);
  }

  private ces(penalty: number): number {
    return clamp(Math.round(7 - 6 * (this.satisfaction - penalty + this.raterBias / 11) + 0.9 * this.rng.normal()), 1, 7);
  }

  private profileEvent(at: number, email: string): ChurnEvent {
    return {
      eventId: this.nextId(),
      customerId: this.customerId,
      occurredAt: isoSecond(at),
      schemaVersion: 1,
      type: "customer_profile",
      email,
      name: `${this.firstName} ${this.lastName}`,
      locale: this.locale,
      signedUpAt: isoSecond(this.signedUpAt),
    };
  }

  /** An e-mail change: the worker must upsert profiles, not just insert them. */
  private profileUpdate(at: number): void {
    const k = ++this.profileCount;
    const email = `${asciiFold(this.firstName)}.${asciiFold(this.lastName)}.${this.number}.${k}@example.org`;
    this.emit(at, this.profileEvent(at, email), true);
  }

  // ---- plumbing ------------------------------------------------------------------------------

  // Events are built as plain literals rather than by spreading a shared base object: spreading
  // made V8 build each event through its slow path (a fifth of the run time).
  private nextId(): string {
    return `${this.idPrefix}${++this.eventCount}`;
  }

  /** Queues an event in time order; events outside the window are dropped (their ids stay used). */
  private emit(at: number, event: ChurnEvent, byCustomer: boolean): void {
    if (at < this.ctx.startMs || at >= this.ctx.endMs) return;
    const out = this.out;
    // Insert after every event at the same instant: ties keep creation order.
    let i = out.length;
    while (i > 0 && (out[i - 1] as Queued).at > at) i--;
    out.splice(i, 0, { at, event, byCustomer });
  }

  private schedule(action: Action): void {
    const agenda = this.agenda;
    let i = agenda.length;
    while (i > 0 && (agenda[i - 1] as Action).at > action.at) i--;
    agenda.splice(i, 0, action);
  }

  /** A time on day [t0, t0 + 1 day) following an hourly activity profile, not before `lo`. */
  private timeInDay(t0: number, lo: number, hours: readonly number[]): number {
    const rng = this.rng;
    let at = t0 + rng.weightedIndex(hours) * HOUR_MS + rng.next() * HOUR_MS;
    if (at < lo) at = lo + rng.next() * (t0 + DAY_MS - lo);
    return toSecond(at);
  }
}
