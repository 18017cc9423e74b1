// Entry point of the `switchyard` command: global flags, then dispatch to a subcommand.
import { commands } from './command-table.js'
import { SwitchyardError } from '../internal/errors.js'
import { packageVersion } from '../internal/version.js'

export function globalHelp(): string {
  const names = Object.keys(commands).sort()
  const width = Math.max(8, ...names.map((n) => n.length))
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${commands[n]?.summary ?? ''}`)
  return [
    'Usage: switchyard <command> [options]',
    '',
    'Fan-out broker (NATS protocol), reverse proxy and MapReduce engine.',
    '',
    'Commands:',
    ...(lines.length > 0 ? lines : ['  (none yet)']),
    '',
    'Options:',
    '  -h, --help     Show help (also: switchyard <command> --help)',
    '  -v, --version  Print the version',
    '',
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    if (first === 'help' && rest[0] !== undefined) return main([rest[0], '--help'])
    process.stdout.write(globalHelp())
    return first === undefined ? 1 : 0
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${packageVersion()}\n`)
    return 0
  }
  const entry = commands[first]
  if (entry === undefined) {
    process.stderr.write(`switchyard: unknown command "${first}"; run "switchyard --help" for the list\n`)
    return 2
  }
  const command = await entry.load()
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`)
    return 0
  }
  try {
    return await command.run(rest)
  } catch (err) {
    if (err instanceof SwitchyardError) {
      process.stderr.write(`switchyard ${first}: ${err.message} [${err.code}]\n`)
      return err.code === 'ERR_CLI_USAGE' ? 2 : 1
    }
    throw err
  }
}
