// Compiles mock-broker.c on demand, so a fresh checkout needs no build step: only gcc and
// librdkafka-dev (the one Debian package that carries the mock cluster's header).
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
export const BROKER_SOURCE = join(here, "mock-broker.c");
export const BROKER_BINARY = join(here, "bin", "mock-broker");
const INSTALL_HINT = "sudo apt-get install -y librdkafka-dev";

/** Path to the compiled mock broker, (re)building it when missing or older than its source. */
export async function ensureBrokerBinary(): Promise<string> {
  if (existsSync(BROKER_BINARY) && statSync(BROKER_BINARY).mtimeMs >= statSync(BROKER_SOURCE).mtimeMs) {
    return BROKER_BINARY;
  }
  const cc = process.env.CC ?? "gcc";
  if (!(await succeeds(cc, ["--version"]))) {
    throw new Error(`The local Kafka broker is compiled from C, but "${cc}" was not found. Run: sudo apt-get install -y gcc librdkafka-dev`);
  }
  if (!(await hasMockHeader(cc))) await installLibrdkafkaDev(cc);

  await mkdir(dirname(BROKER_BINARY), { recursive: true });
  // Build beside the target and rename: two processes building at once never see half a binary.
  const tmp = `${BROKER_BINARY}.${process.pid}.tmp`;
  try {
    await run(cc, ["-O2", "-Wall", "-o", tmp, BROKER_SOURCE, "-lrdkafka"]);
    await rename(tmp, BROKER_BINARY);
  } catch (err) {
    await rm(tmp, { force: true });
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`Compiling ${BROKER_SOURCE} failed:\n${stderr}`);
  }
  return BROKER_BINARY;
}

async function succeeds(cmd: string, args: string[]): Promise<boolean> {
  try {
    await run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

// Ask the compiler itself rather than guessing include directories.
async function hasMockHeader(cc: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = execFile(cc, ["-E", "-x", "c", "-o", "/dev/null", "-"], (err) => resolve(!err));
    child.stdin?.on("error", () => {}); // compiler gone early (EPIPE): its exit code decides
    child.stdin?.end("#include <librdkafka/rdkafka.h>\n#include <librdkafka/rdkafka_mock.h>\n");
  });
}

async function installLibrdkafkaDev(cc: string): Promise<void> {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !(await succeeds("apt-get", ["--version"]))) {
    throw new Error(`librdkafka/rdkafka_mock.h is missing; the local Kafka broker needs it. Run:\n  ${INSTALL_HINT}`);
  }
  console.error("[kafka-broker] librdkafka/rdkafka_mock.h missing: running apt-get update && apt-get install -y librdkafka-dev");
  try {
    await run("apt-get", ["update"], { maxBuffer: 64 * 1024 * 1024 });
    await run("apt-get", ["install", "-y", "librdkafka-dev"], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`apt-get install librdkafka-dev failed:\n${stderr}\nRun it yourself: ${INSTALL_HINT}`);
  }
  if (!(await hasMockHeader(cc))) throw new Error(`librdkafka-dev installed but ${cc} still cannot find librdkafka/rdkafka_mock.h`);
}
