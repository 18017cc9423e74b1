// Demo alerting: a queue group of subscribers watching 5xx access events. Each event goes to exactly
// one member of the group (the broker's "deliver to some"), so alerts are not raised twice.
import type { EmbeddedBroker, Subscription } from '../../broker/index.js'

export interface AlertGroup {
  /** Events handled by each member; their sum is the number of 5xx events. */
  readonly perMember: readonly number[]
  readonly total: number
  /** Most recent alert lines, newest last. */
  readonly recent: readonly string[]
  close(): void
}

export function startAlerts(broker: EmbeddedBroker, members = 2, onAlert?: (line: string) => void): AlertGroup {
  const perMember = new Array<number>(members).fill(0)
  const recent: string[] = []
  const subs: Subscription[] = []
  const decoder = new TextDecoder()
  for (let i = 0; i < members; i++) {
    subs.push(
      broker.subscribe('proxy.access.*.5xx', { queue: 'alerts' }, (msg) => {
        perMember[i] = (perMember[i] ?? 0) + 1
        let line = `alert[${i}] ${msg.subject}`
        try {
          const ev = JSON.parse(decoder.decode(msg.data)) as { status?: number; path?: string; upstream?: string }
          line = `alert[member ${i}] ${ev.status ?? '5xx'} ${ev.path ?? ''} from ${ev.upstream || 'no upstream'}`
        } catch {
          // Not JSON: keep the subject-only line.
        }
        recent.push(line)
        if (recent.length > 20) recent.shift()
        onAlert?.(line)
      }),
    )
  }
  return {
    perMember,
    get total() {
      return perMember.reduce((a, b) => a + b, 0)
    },
    recent,
    close() {
      for (const s of subs) s.unsubscribe()
    },
  }
}
