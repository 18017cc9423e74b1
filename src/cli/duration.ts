// Parses human durations for CLI flags: "60s", "2m", "1500ms", "1h"; a bare number means seconds.
import { UsageError } from '../internal/errors.js'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (m === null) throw new UsageError(`Invalid ${flag} "${text}": expected a duration such as 60s, 2m or 1500ms`)
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000))
}
