/**
 * When the consumer may rejoin its group after kafkajs gave up. kafkajs restarts only on errors it
 * classes as retriable; every other crash would stop the worker (exit 1, the orchestrator restarts
 * it). One such error is about the group's round, not about this worker: a SyncGroup answered with
 * INVALID_REQUEST because the round completed without it (librdkafka's mock cluster does this to a
 * member whose SyncGroup arrives after the leader's has completed the round, where a real
 * coordinator answers with the member's assignment). Joining again is the fix, so the runner does
 * that, a few times within a window, before it gives up like on any other crash.
 */

/** A protocol error from the group join/sync round that a new JoinGroup resolves. */
export function isGroupRoundError(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== "KafkaJSProtocolError") return false;
  const type = (err as { type?: unknown }).type;
  return type === "INVALID_REQUEST" && /\b(syncGroup|joinGroup)\b/.test(err.stack ?? "");
}

/** Allows `max` rejoins per `windowMs`; a worker that keeps failing its rounds still stops. */
export class RejoinBudget {
  private readonly times: number[] = [];

  constructor(private readonly max = 3, private readonly windowMs = 5 * 60_000) {}

  take(now = Date.now()): boolean {
    while (this.times.length > 0 && this.times[0]! <= now - this.windowMs) this.times.shift();
    if (this.times.length >= this.max) return false;
    this.times.push(now);
    return true;
  }
}
