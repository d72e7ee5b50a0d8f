// CPU accounting from /proc, to tell a server's figure from the machine's: the
// server's own CPU use during a run, and how much of the two benchmark cores
// went to processes that are neither the server nor h2load (other work on a
// shared machine steals from the server and skews the figures).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Seconds the given CPUs spent not idle (everything but idle and iowait), from /proc/stat. */
export function busySeconds(cpus: number[]): number {
  let ticks = 0;
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m || !cpus.includes(Number(m[1]))) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    ticks += f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
  }
  return ticks / CLK_TCK;
}

/** utime + stime of a live process, in seconds, from /proc/PID/stat. */
export function processSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name, in parentheses, may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until other processes use less than `maxPercent` of one core on the
 * given CPUs over a 1 s sample, or `maxWaitS` has passed. Returns the last
 * sample (percent of one core) so the caller can record it.
 */
export async function waitForQuiet(cpus: number[], maxPercent: number, maxWaitS: number): Promise<number> {
  const deadline = Date.now() + maxWaitS * 1000;
  for (;;) {
    const before = busySeconds(cpus);
    const self = process.cpuUsage();
    const started = process.hrtime.bigint();
    await sleep(1000);
    const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(self);
    const own = (used.user + used.system) / 1e6;
    const percent = Math.max(0, ((busySeconds(cpus) - before - own) / elapsedS) * 100);
    if (percent < maxPercent || Date.now() >= deadline) return percent;
  }
}
