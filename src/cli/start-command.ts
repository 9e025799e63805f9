/**
 * cli/start-command — `kiln start` (what `npm start` runs): the whole pipeline in one command.
 * It starts the tracking server (port 5000), runs the study of the chosen profile on the
 * embedded store that server serves (trainer metrics on 8001), registers the best model and
 * moves @champion to it when it is better, serves @champion on port 8000, prints every URL, and
 * shuts everything down cleanly on Ctrl-C.
 */
import type { Command } from 'commander';
import { resolveHome } from '../common/home.js';
import { defaultStoreUri, resolveArtifactsDestination } from '../tracking/client/index.js';
import { startServe, type RunningServe } from '../serve/index.js';
import { startTrackingServer } from '../tracking/server/index.js';
import { listeningOn } from './errors.js';
import { parsePort } from './parse.js';
import { checkPortFree } from './ports.js';
import { addTuneOptions, checkTuneFlags, printDryRun, resolveTuneConfig, tune, type TuneFlags } from './tune-command.js';
import { logFunction } from '../observability/logging.js';
import { openCliLogs } from './logs.js';

interface StartFlags extends TuneFlags {
  host: string;
  artifactsDestination?: string;
  port: string;
  servePort: string;
  serve: boolean;
}

export function registerStartCommand(program: Command): void {
  addTuneOptions(program.command('start').description('the whole pipeline: tracking server, tuning study, registry, then the prediction API serving @champion'))
    .option('--host <host>', 'interface for the tracking server', '127.0.0.1')
    .option('--port <port>', 'tracking server port (0 picks a free one)', '5000')
    .option('--serve-port <port>', 'port of the prediction API serving @champion (0 picks a free one)', '8000')
    .option('--no-serve', 'stop after registration instead of serving the champion')
    .option('--artifacts-destination <uri>', 'where artifacts are kept: a folder, or s3://bucket/prefix (default $KILN_ARTIFACTS_DESTINATION, then <home>/artifacts)')
    .action(async (flags: StartFlags) => {
      const resolved = await resolveTuneConfig(flags);
      if (flags.dryRun) {
        for (const warning of resolved.warnings) console.error(`warning: ${warning}`);
        await printDryRun(resolved, flags.json);
        return;
      }
      const config = resolved.config;
      // Configuration, flags and ports are checked before any of the three services starts.
      const { metricsPort } = await checkTuneFlags({ ...flags, metricsPort: flags.metricsPort ?? '8001' });
      const port = parsePort('--port', flags.port);
      const servePort = parsePort('--serve-port', flags.servePort);
      await checkPortFree('--metrics-port', flags.metricsHost, metricsPort ?? 8001);
      if (flags.serve) await checkPortFree('--serve-port', flags.host, servePort);
      // One process, three services: each logs to its own file (and all to the shared ones).
      const logs = openCliLogs(flags);
      const log = logFunction(logs.logger('trainer', { study: config.study.name }));
      for (const warning of resolved.warnings) log(`warning: ${warning}`);
      const home = resolveHome(flags.home);
      const backendStoreUri = defaultStoreUri(home);
      const artifactsDestination = resolveArtifactsDestination(flags.artifactsDestination, home);
      // The study, its worker processes and the champion's server all write to or read from the
      // embedded store: they find the destination here, as a user's shell would pass it.
      process.env.KILN_ARTIFACTS_DESTINATION = artifactsDestination;
      const server = await listeningOn('--port', () =>
        startTrackingServer({ host: flags.host, port, backendStoreUri, artifactsDestination, logger: logs.logger('tracking') }),
      ).catch((error: unknown) => {
        logs.close();
        throw error;
      });
      const address = server.server.address();
      const trackingUrl = `http://${flags.host}:${typeof address === 'object' && address !== null ? address.port : port}`;
      log(`web UI, tracking server and registry: ${trackingUrl}/  (MLflow REST API under ${trackingUrl}/api/2.0/mlflow, metrics at ${trackingUrl}/metrics)`);
      let stopping = false;
      let interrupt: (() => Promise<void>) | null = null;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        log('interrupted: marking running trials FAIL, the study run KILLED, and closing the tracking server');
        void (interrupt?.() ?? Promise.resolve())
          .catch(() => undefined)
          .then(() => server.close())
          .finally(() => process.exit(130));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      let serving: RunningServe | null = null;
      try {
        // The study writes to the same database the server serves (one shared connection), so
        // runs appear in the server while they train.
        const result = await tune({ ...flags, trackingUri: flags.trackingUri ?? backendStoreUri, home: flags.home, metricsPort: flags.metricsPort ?? '8001' }, log, (fn) => (interrupt = fn), logs, resolved.config);
        const { model_name: modelName, alias } = resolved.config.registry;
        const modelUri = `models:/${modelName}@${alias}`;
        log(
          `\nstudy ${result.study}: best val_acc ${result.best_value?.toFixed(4) ?? '-'}, test_acc ${result.test_acc?.toFixed(4) ?? '-'} ` +
            `(${result.trials.complete} complete, ${result.trials.pruned} pruned, ${result.trials.failed} failed, ${result.seconds.toFixed(1)} s)`,
        );
        log(`registered version ${result.version ?? '-'}: ${result.promotion ?? 'nothing registered'}`);
        log(`champion: ${modelUri}  (study: ${trackingUrl}/#/studies/${encodeURIComponent(result.study)}, registry: ${trackingUrl}/#/models/${encodeURIComponent(modelName)})`);
        if (flags.serve) {
          const apiLogger = logs.logger('api');
          serving = await listeningOn('--serve-port', () =>
            startServe({ modelUri, home, trackingUri: backendStoreUri, host: flags.host, port: servePort, log: logFunction(apiLogger), logger: apiLogger }),
          );
          log(`prediction API: ${serving.url}  (open it in a browser to classify an image; POST ${serving.url}/predict; docs ${serving.url}/docs; ${serving.url}/ready, ${serving.url}/metrics)`);
        }
        if (flags.json) console.log(JSON.stringify({ ...result, tracking_url: trackingUrl, model_uri: modelUri, ...(serving ? { api_url: serving.url } : {}) }));
        if (serving) {
          log('serving until Ctrl-C');
          process.removeListener('SIGINT', stop);
          process.removeListener('SIGTERM', stop);
          await new Promise<void>((resolve) => {
            process.once('SIGINT', () => resolve());
            process.once('SIGTERM', () => resolve());
          });
          log('stopping: closing the prediction API and the tracking server');
        }
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        await serving?.close();
        await server.close();
        logs.close();
      }
    });
}
