// Per-process resource readings from /proc: CPU seconds (utime + stime) and peak RSS (VmHWM).
import { readdirSync, readFileSync } from 'node:fs'

const CLOCK_TICKS = 100 // USER_HZ on Linux; getconf CLK_TCK is 100 on every mainstream kernel

export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return (utime + stime) / CLOCK_TICKS
}

/** Peak resident set size in bytes since the process started. */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(status)
  return m?.[1] === undefined ? 0 : Number(m[1]) * 1024
}

/** Current resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status)
  return m?.[1] === undefined ? 0 : Number(m[1]) * 1024
}

/** Pids whose parent is `pid` (e.g. the server a wrapper script started). */
export function childPids(pid: number): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d))
    } catch {
      // exited meanwhile
    }
  }
  return out
}
