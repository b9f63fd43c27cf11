/**
 * How the command-line tools read their arguments: node:util's parseArgs (strict), plus what an
 * operator expects of a command. `--help` or `-h` prints the usage on stdout and exits 0. Anything
 * wrong with the arguments (an unknown option, a missing value, a stray argument, or a check of
 * the tool's own) is one line on stderr naming the problem, then the usage line, and exit 2; never
 * a stack trace. Exit 1 is left to the tools for "ran, and found problems".
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'

type Options = NonNullable<ParseArgsConfig['options']>

export interface Command<O extends Options> {
  /** The script's name after `npm run`, which starts every error line. */
  name: string
  /** The usage line, e.g. `npm run key -- --member <id> ...`. */
  synopsis: string
  /** What `--help` prints after the usage line: what the tool does, its options, exit codes. */
  help: string
  options: O
  allowPositionals?: boolean
}

/** Refuses the command line: one line saying why, the usage line, exit 2. */
export function misuse(command: Pick<Command<never>, 'name' | 'synopsis'>, problem: string): never {
  process.stderr.write(
    `${command.name}: ${problem}\nusage: ${command.synopsis}   (--help for more)\n`,
  )
  process.exit(2)
}

function problemOf(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string }
  // Node appends advice about `--` to an unknown option; the usage line is the better hint.
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return message!.split('. ')[0]!
  if (code?.startsWith('ERR_PARSE_ARGS_')) return message!
  throw error
}

export function readCommandLine<O extends Options>(
  command: Command<O>,
  args: string[] = process.argv.slice(2),
) {
  // Help wins over everything else on the line (up to a `--`), however wrong the rest is.
  const end = args.indexOf('--')
  if ((end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`usage: ${command.synopsis}\n\n${command.help.trim()}\n`)
    process.exit(0)
  }
  try {
    return parseArgs({
      args,
      options: command.options,
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    })
  } catch (error) {
    return misuse(command, problemOf(error))
  }
}
