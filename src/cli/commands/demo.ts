// Placeholder until the demo issue lands: prints the available commands.
import type { Command } from '../commands.js'
import { globalHelp } from '../main.js'

export const command: Command = {
  help: 'Usage: switchyard demo [--duration 60s] [--open]\n\nNot available yet in this build.',
  async run() {
    process.stdout.write(`The demo is not available yet in this build. Available commands:\n\n${globalHelp()}`)
    return 0
  },
}
