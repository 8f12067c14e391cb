/**
 * Keeps a running attempt's lease alive. Renewals go through the pool rather than the session that
 * holds the job's advisory lock: should that one connection break, the job itself still runs on
 * other connections, and letting its lease lapse would invite a second worker to run it as well.
 */
import type pg from "pg";
import type { Logger } from "../log.js";
import { renewLease, type Claim } from "./job-runs.js";
import { leaseTerms, type JobPolicy } from "./policy.js";

export interface Heartbeat {
  /** Stops renewing and waits for a renewal in flight, so none lands after the attempt is closed. */
  stop(): Promise<void>;
}

export function startHeartbeat(pool: pg.Pool, claim: Claim, workerId: string, policy: JobPolicy, log: Logger): Heartbeat {
  const terms = leaseTerms(claim.attempt, policy);
  let lost = false;
  let inFlight: Promise<void> | null = null;
  const timer = setInterval(() => {
    // A renewal still waiting for a pool connection is not doubled up.
    if (lost || inFlight) return;
    inFlight = renewLease(pool, { ...claim, workerId, ...terms })
      .then((ok) => {
        if (!ok) {
          lost = true;
          // Only possible after renewals failed for a whole lease: another worker may now run it too.
          log.error({ job: claim.job, slot: claim.slot, attempt: claim.attempt }, "job lease lost while running; another worker may have taken the slot over");
        }
      })
      .catch((err: unknown) => log.warn({ err, job: claim.job, slot: claim.slot }, "job lease renewal failed; retrying at the next heartbeat"))
      .finally(() => (inFlight = null));
  }, policy.heartbeatMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
