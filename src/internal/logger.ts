// Structured logging shared by all subsystems: JSON lines (pino) by default, a human-readable
// single-line format when writing to a terminal.
import { createRequire } from 'node:module'
import { pino, type Logger, type LevelWithSilent } from 'pino'
import type PinoPretty from 'pino-pretty'

export type { Logger }

export interface LoggerOptions {
  /** Component name put on every line (`broker`, `proxy`, ...). */
  name?: string
  level?: LevelWithSilent
  /** Human-readable output. Default: true when the destination is a TTY. */
  pretty?: boolean
  /** Where lines go. Default: stderr (fd 2), so stdout stays free for command output. */
  destination?: NodeJS.WritableStream
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stderr
  const isTty = (destination as { isTTY?: boolean }).isTTY === true
  const base = {
    level: options.level ?? 'info',
    ...(options.name === undefined ? {} : { name: options.name }),
  }
  if (options.pretty ?? isTty) {
    // Loaded only for a terminal: JSON lines need none of it (issue #16, RSS of a daemon).
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty
    const stream = pretty({
      destination,
      colorize: isTty,
      sync: true,
      translateTime: 'HH:MM:ss.l',
      ignore: 'pid,hostname',
    })
    return pino(base, stream)
  }
  return pino(base, destination)
}

/** A logger that discards everything; the default for embedded use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
