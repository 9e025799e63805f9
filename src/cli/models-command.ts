/**
 * cli/models-command — `kiln models …`: register a run's model as a new version, move or
 * delete aliases (champion by default), and list models, versions and the alias history.
 */
import type { Command } from 'commander';
import { resolveHome } from '../common/home.js';
import { CHAMPION, DEFAULT_MODEL_NAME, openTracking, promoteIfBetter, registerModelVersion, type TrackingSession } from '../tracking/client/index.js';
import { userInfo } from 'node:os';
import { CliError } from './errors.js';
import { checkTrackingUriSources } from './parse.js';

interface CommonFlags {
  trackingUri?: string;
  home?: string;
  json?: boolean;
  name: string;
}

async function withTracking<T>(flags: CommonFlags, body: (session: TrackingSession) => Promise<T>): Promise<T> {
  checkTrackingUriSources(flags.trackingUri);
  const session = await openTracking({ uri: flags.trackingUri, home: resolveHome(flags.home) });
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}

/** The result: the readable text, or (with --json) only the JSON object. */
function emit(flags: CommonFlags, text: string, result: object): void {
  console.log(flags.json ? JSON.stringify(result) : text);
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function common(command: Command): Command {
  return command
    .option('--name <model>', 'registered model name', DEFAULT_MODEL_NAME)
    .option('--tracking-uri <uri>', 'tracking server URL or store URI (default $KILN_TRACKING_URI, $MLFLOW_TRACKING_URI, then sqlite:///<home>/tracking.db)')
    .option('--home <dir>', 'Kiln data directory (default $KILN_HOME or ./kiln-data)')
    .option('--json', 'print the result as one JSON object on the last stdout line');
}

export function registerModelsCommands(program: Command): void {
  const models = program.command('models').description('the model registry: versions, aliases (champion) and their history');

  common(models.command('register').description("register a run's model folder as a new version"))
    .requiredOption('--run <id>', 'run whose `model` artifacts to register')
    .option('--artifact-path <path>', 'artifact folder of the run holding the model', 'model')
    .option('--description <text>', 'version description')
    .option('--promote', 'then move @champion to it if its metric beats the current champion')
    .option('--metric <key>', 'metric compared by --promote', 'test_acc')
    .action(async (flags: CommonFlags & { run: string; artifactPath: string; description?: string; promote?: boolean; metric: string }) => {
      await withTracking(flags, async ({ store }) => {
        const version = await registerModelVersion(store, {
          runId: flags.run,
          name: flags.name,
          artifactPath: flags.artifactPath,
          description: flags.description,
          userId: currentUser(),
        });
        const promotion = flags.promote ? await promoteIfBetter(store, { name: flags.name, version: version.version, metric: flags.metric, userId: currentUser() }) : null;
        emit(
          flags,
          `registered ${flags.name} version ${version.version} from run ${flags.run} (${version.source})` + (promotion ? `\n${promotion.moved ? 'moved' : 'kept'} @${promotion.alias}: ${promotion.reason}` : ''),
          { model_version: version, promotion },
        );
      });
    });

  common(models.command('alias').description('point an alias (default champion) at a version, or delete it'))
    .argument('[version]', 'version the alias should name')
    .option('--alias <alias>', 'alias to move', CHAMPION)
    .option('--if-better', 'move only when the version beats the current holder on --metric')
    .option('--metric <key>', 'metric compared by --if-better', 'test_acc')
    .option('--reason <text>', 'recorded in the alias history')
    .option('--delete', 'remove the alias')
    .action(async (version: string | undefined, flags: CommonFlags & { alias: string; ifBetter?: boolean; metric: string; reason?: string; delete?: boolean }) => {
      if (version === undefined && !flags.delete) {
        throw new CliError('KILN_ERR_USAGE', 'kiln models alias: give the version to point the alias at, or --delete', { hint: `kiln models alias 3 --alias ${flags.alias}` });
      }
      await withTracking(flags, async ({ store }) => {
        if (flags.delete) {
          await store.deleteRegisteredModelAlias(flags.name, flags.alias, { user_id: currentUser(), reason: flags.reason ?? 'deleted with kiln models alias --delete' });
          emit(flags, `deleted @${flags.alias} of ${flags.name}`, { deleted: true, name: flags.name, alias: flags.alias });
          return;
        }
        const result = await promoteIfBetter(store, {
          name: flags.name,
          version: version!,
          alias: flags.alias,
          metric: flags.metric,
          force: !flags.ifBetter,
          reason: flags.reason,
          userId: currentUser(),
        });
        emit(flags, `${result.moved ? 'moved' : 'kept'} @${result.alias}: ${result.reason}`, result);
      });
    });

  common(models.command('list').description('registered models with their aliases and latest version')).action(async (flags: CommonFlags) => {
    await withTracking(flags, async ({ store }) => {
      const models = [];
      let token: string | undefined;
      do {
        const page = await store.searchRegisteredModels({ max_results: 100, page_token: token });
        models.push(...page.items);
        token = page.next_page_token;
      } while (token);
      const lines = models.map(
        (m) => `${m.name}  latest ${m.latest_versions.reduce((n, v) => Math.max(n, Number(v.version)), 0) || '-'}  ${m.aliases.map((a) => `@${a.alias}=${a.version}`).join(' ') || '(no aliases)'}`,
      );
      emit(flags, lines.join('\n') || '(no registered models)', { registered_models: models });
    });
  });

  common(models.command('versions').description('versions of a registered model')).action(async (flags: CommonFlags) => {
    await withTracking(flags, async ({ store }) => {
      const versions = [];
      let token: string | undefined;
      do {
        const page = await store.searchModelVersions({ filter: `name = '${flags.name.replace(/'/g, "\\'")}'`, max_results: 200, page_token: token });
        versions.push(...page.items);
        token = page.next_page_token;
      } while (token);
      const lines = versions.map((v) => `${v.name} v${v.version}  run ${v.run_id ?? '-'}  ${v.aliases.map((a) => `@${a}`).join(' ')}  ${v.source}`);
      emit(flags, lines.join('\n') || `(no versions of ${flags.name})`, { model_versions: versions });
    });
  });

  common(models.command('history').description('every move of the aliases of a model: who, when, from, to, why'))
    .option('--alias <alias>', 'only this alias')
    .action(async (flags: CommonFlags & { alias?: string }) => {
      await withTracking(flags, async ({ store }) => {
        const events = await store.getAliasHistory(flags.name, flags.alias);
        const lines = events.map(
          (e) => `${new Date(e.timestamp).toISOString()}  @${e.alias}  ${e.from_version ?? '∅'} → ${e.to_version ?? '∅'}  by ${e.user_id}${e.reason ? `  (${e.reason})` : ''}`,
        );
        emit(flags, lines.join('\n') || '(no alias moves)', { events });
      });
    });
}
