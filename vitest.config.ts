import { defineConfig } from "vitest/config";

/**
 * Integration tests start real servers (embedded PostgreSQL, the local Kafka broker, SMTP) on free
 * ports, each file its own. Two projects run side by side, each one file at a time: the streaming
 * faults (mostly waiting on outages, session timeouts and restarts) next to the rest (mostly CPU),
 * so a 2-core machine is kept busy without thrashing. The split keeps both halves near the same
 * length; the two tests that build dist/ (production, shutdown) are in the same project so their
 * builds never overlap.
 */
const STREAM = ["test/faults/**/*.test.ts", "test/ingest.test.ts"];
const shared = { pool: "forks" as const, fileParallelism: false, testTimeout: 60_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: "stream", include: STREAM } },
      { test: { ...shared, name: "rest", include: ["test/**/*.test.ts"], exclude: STREAM } },
    ],
  },
});
