/**
 * cli — the `kiln` command. Each subcommand parses flags into the typed configuration of the
 * area that does the work and prints the result; with `--json` the last stdout line is one JSON
 * object (the result, or `{"error": {code, message}}`), so scripts never scrape text.
 */
import { Command, CommanderError } from 'commander';
import { KilnError } from '../common/errors.js';
import { KILN_VERSION } from '../common/version.js';
import { TrackingError } from '../tracking/store/errors.js';
import { registerDoctorCommand } from './doctor-command.js';
import { registerModelsCommands } from './models-command.js';
import { registerServerCommand } from './server-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerTrainCommands } from './train-command.js';
import { registerStartCommand } from './start-command.js';
import { registerTuneCommand } from './tune-command.js';

export function buildProgram(): Command {
  const program = new Command('kiln')
    .description('Kiln: train, tune, track and serve image classifiers, all in TypeScript')
    .version(KILN_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerTrainCommands(program);
  registerModelsCommands(program);
  registerServerCommand(program);
  registerServeCommand(program);
  registerTuneCommand(program);
  registerStartCommand(program);
  registerDoctorCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const wantsJson = argv.includes('--json');
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      process.exitCode = error.exitCode;
      if (wantsJson && error.exitCode !== 0) console.log(JSON.stringify({ error: { code: error.code, message: error.message } }));
      return;
    }
    const code = error instanceof KilnError ? error.code : error instanceof TrackingError ? error.errorCode : 'KILN_ERR_INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error [${code}]: ${message}`);
    if (wantsJson) console.log(JSON.stringify({ error: { code, message } }));
    // Usage errors (a bad flag or config value) exit 2, runtime failures 1.
    process.exitCode = code === 'KILN_ERR_INVALID_HYPERPARAMETER' || code === 'KILN_ERR_CONFIG' ? 2 : 1;
  }
}
