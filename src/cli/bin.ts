// Process wrapper for the CLI: runs main() and turns its result into the exit code.
import { main } from './main.js'

// Until main settles the exit code is 1: a command whose work never finished (the event loop
// emptied with its promise pending) must not report success.
let settled = false
process.exitCode = 1
process.once('beforeExit', () => {
  if (!settled) process.stderr.write('switchyard: the command ended before its work finished (nothing was left to run)\n')
})
main(process.argv.slice(2)).then(
  (code) => {
    settled = true
    process.exitCode = code
  },
  (err: unknown) => {
    settled = true
    process.stderr.write(`switchyard: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  },
)
