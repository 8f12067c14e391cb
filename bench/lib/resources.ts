/**
 * What a benchmark run cost beyond wall time: CPU seconds of this process and of the PostgreSQL
 * server (postmaster and backends, read from /proc), and this process's peak RSS. CPU seconds
 * survive a noisy shared machine better than rates, and say who the bottleneck is.
 */
import { readdirSync, readFileSync } from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux

function stat(pid: number): { ppid: number; cpuTicks: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // Fields after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    return { ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/** CPU seconds used so far by a process and every process it forked (live ones; exited ones through cutime). */
export function treeCpuSeconds(root: number): number {
  const children = new Map<number, number[]>();
  let rootTicks = 0;
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const st = stat(Number(e));
    if (!st) continue;
    if (Number(e) === root) rootTicks = st.cpuTicks;
    children.set(st.ppid, [...(children.get(st.ppid) ?? []), Number(e)]);
  }
  let ticks = rootTicks;
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.pop()!;
    ticks += stat(pid)?.cpuTicks ?? 0;
    queue.push(...(children.get(pid) ?? []));
  }
  return ticks / CLOCK_TICKS;
}

export function processCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
