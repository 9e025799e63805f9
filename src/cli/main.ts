/**
 * cli — the `kiln` command. Each subcommand parses flags into the typed configuration of the
 * area that does the work and prints the result; with `--json` the last stdout line is one JSON
 * object (the result, or `{"error": {code, message, hint?}}`) and nothing else goes to stdout,
 * so scripts never scrape text. Exit status: 0 done, 1 failed at run time, 2 usage error (see
 * cli/errors.ts); 130 interrupted.
 */
import { Command, CommanderError } from 'commander';
import { KILN_VERSION } from '../common/version.js';
import { describeFailure } from './errors.js';
type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when needed: a command line loads its own command alone (so
 * `kiln serve` never loads the trainer, the tuner or their schemas), help and unknown names load
 * all of them, in this order.
 */
const COMMANDS: readonly [names: readonly string[], load: () => Promise<Register>][] = [
  [['train'], async () => (await import('./train-command.js')).registerTrainCommands],
  [['models'], async () => (await import('./models-command.js')).registerModelsCommands],
  [['server'], async () => (await import('./server-command.js')).registerServerCommand],
  [['serve'], async () => (await import('./serve-command.js')).registerServeCommand],
  [['tune', 'tune-worker'], async () => (await import('./tune-command.js')).registerTuneCommand],
  [['start'], async () => (await import('./start-command.js')).registerStartCommand],
  [['logs'], async () => (await import('./logs-command.js')).registerLogsCommand],
  [['doctor'], async () => (await import('./doctor-command.js')).registerDoctorCommand],
];

/** The program with the commands `argv` needs (every command when `argv` is absent or names none). */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command('kiln')
    .description('Kiln: train, tune, track and serve image classifiers, all in TypeScript')
    .version(KILN_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const name = argv?.[2];
  const own = COMMANDS.find(([names]) => name !== undefined && names.includes(name));
  for (const [, load] of own ? [own] : COMMANDS) (await load())(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // Kiln supports Node >= 20.15 with the AWS SDK versions its lock file pins; the SDK's notice
  // that later SDK releases will need Node 22 is for those upgrading it, not for every run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const program = await buildProgram(argv);
  const wantsJson = argv.includes('--json');
  try {
    await program.parseAsync(argv);
  } catch (error) {
    // --help and --version end through here with exit code 0.
    if (error instanceof CommanderError && error.exitCode === 0) {
      process.exitCode = 0;
      return;
    }
    const failure = describeFailure(error);
    // Commander has already printed its own message (and the pointer to --help) on stderr.
    if (!(error instanceof CommanderError)) {
      console.error(`error [${failure.code}]: ${failure.message}${failure.hint ? `\nhint: ${failure.hint}` : ''}`);
    }
    if (wantsJson) console.log(JSON.stringify({ error: { code: failure.code, message: failure.message, ...(failure.hint ? { hint: failure.hint } : {}) } }));
    process.exitCode = failure.exitCode;
  }
}
