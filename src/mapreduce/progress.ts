// Progress: one bar per stage (tasks done / total, records, bytes, spill) on stderr. Drawn in place
// on a terminal; on anything else (a pipe, a log file) the bars are printed as plain lines every 2 s.
// Whether to show them at all is the caller's choice (the CLI's default is "when stderr is a TTY").
import cliProgress from 'cli-progress'
import type { JobSummary, StageSummary } from './summary.js'

export interface ProgressSink {
  update(job: JobSummary): void
  end(job: JobSummary): void
}

const mb = (n: number): string => (n / 2 ** 20).toFixed(1)

export function createProgress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressSink | null {
  if (!enabled) return null
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: ' {name} [{bar}] {value}/{total} tasks | {records} rec | {bytes} MB | shuffle {shuffle} MB | spill {spill} MB',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 5,
      // Off a terminal, cli-progress draws nothing unless told to; --progress means draw anyway.
      noTTYOutput: true,
      notTTYSchedule: 2000,
    },
    cliProgress.Presets.shades_classic,
  )
  const bars = new Map<number, cliProgress.SingleBar>()
  const payload = (s: StageSummary): Record<string, string | number> => ({
    name: `stage ${s.stageId} ${s.name}`.padEnd(32).slice(0, 32),
    records: s.recordsOut,
    bytes: mb(s.bytesRead + s.shuffleReadBytes),
    shuffle: mb(s.shuffleWriteBytes),
    spill: mb(s.spillBytes),
  })
  return {
    update(job) {
      for (const s of job.stages) {
        if (s.status === 'pending' || s.status === 'skipped') continue
        let bar = bars.get(s.stageId)
        if (bar === undefined) {
          bar = multi.create(s.tasks, 0, payload(s))
          bars.set(s.stageId, bar)
        }
        bar.update(s.tasksDone, payload(s))
      }
    },
    end(job) {
      this.update(job)
      multi.stop()
    },
  }
}
