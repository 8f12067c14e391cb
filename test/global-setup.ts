/**
 * Runs once before any test file, in vitest's main process. Test files run two at a time, so what
 * several of them need from the working tree is built here, once, instead of by each file where
 * two builds could overlap: dist/ (the compiled worker and command line that the production and
 * shutdown tests start) and the local Kafka broker's binary (compiled from C on first use).
 */
import { ensureBrokerBinary } from "../scripts/kafka-broker/build.js";
import { buildDist } from "./support/spawn.js";

export default async function setup(): Promise<void> {
  buildDist();
  await ensureBrokerBinary();
}
