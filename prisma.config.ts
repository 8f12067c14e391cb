// Prisma 6.19 offline setup (see ../shared/DESIGN.md): the JS (WASM) engine with the pg driver
// adapter, so that generate and migrate diff never download an engine binary.
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  async adapter() {
    return new PrismaPg({ connectionString: process.env.DATABASE_URL ?? "postgresql://localhost:5432/churnwatch" });
  },
});
