import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real servers (embedded Postgres, the local Kafka broker, SMTP);
    // one fork at a time keeps a 2-core machine from thrashing and ports from colliding.
    pool: "forks",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
