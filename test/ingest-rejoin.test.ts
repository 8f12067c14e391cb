import { KafkaJSProtocolError } from "kafkajs";
import { describe, expect, it } from "vitest";
import { isGroupRoundError, RejoinBudget } from "../src/ingest/rejoin.js";

/** kafkajs's error class as its protocol decoder builds it (the constructor copies type and code). */
function protocolError(type: string, code: number): Error {
  return new KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable: false }));
}

/** kafkajs's own error for code 42, thrown from where its group round sends SyncGroup. */
function invalidRequestFrom(frame: string): Error {
  const err = protocolError("INVALID_REQUEST", 42);
  err.stack = `KafkaJSProtocolError: malformed request\n    at ${frame}\n    at async Runner.start (node_modules/kafkajs/src/consumer/runner.js:84:7)`;
  return err;
}

describe("rejoining the group after kafkajs gave up", () => {
  it("rejoins after an INVALID_REQUEST answer to SyncGroup or JoinGroup, and after nothing else", () => {
    expect(isGroupRoundError(invalidRequestFrom("Object.parse (node_modules/kafkajs/src/protocol/requests/syncGroup/v0/response.js:24:11)"))).toBe(true);
    expect(isGroupRoundError(invalidRequestFrom("async Broker.joinGroup (node_modules/kafkajs/src/broker/index.js:400:12)"))).toBe(true);
    // The same code from a fetch or a commit is not about the group's round.
    expect(isGroupRoundError(invalidRequestFrom("async Broker.offsetCommit (node_modules/kafkajs/src/broker/index.js:500:12)"))).toBe(false);
    const authz = protocolError("GROUP_AUTHORIZATION_FAILED", 30);
    authz.stack = "KafkaJSProtocolError\n    at async Broker.syncGroup (x.js:1:1)";
    expect(isGroupRoundError(authz)).toBe(false);
    expect(isGroupRoundError(new Error("INVALID_REQUEST syncGroup"))).toBe(false);
    expect(isGroupRoundError(undefined)).toBe(false);
  });

  it("allows three rejoins in five minutes, then gives up until the oldest leaves the window", () => {
    const budget = new RejoinBudget(3, 300_000);
    expect([0, 1_000, 2_000, 3_000].map((t) => budget.take(t))).toEqual([true, true, true, false]);
    expect(budget.take(299_999)).toBe(false);
    expect(budget.take(300_000)).toBe(true);
  });
});
