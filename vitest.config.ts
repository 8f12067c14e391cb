import { defineConfig } from "vitest/config";

/**
 * Integration tests start real servers (embedded PostgreSQL, the local Kafka broker, SMTP) on free
 * ports, each file its own, so two files can run side by side: most fault tests spend their time
 * waiting on outages, session timeouts and restarts, and the pair keeps a 2-core machine busy
 * without thrashing. Whatever several files build from the working tree is built once first
 * (test/global-setup.ts).
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
