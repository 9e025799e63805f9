/**
 * cli/server-command — `kiln server`: the tracking server and registry (MLflow's REST API 2.0),
 * started with MLflow's own flag names. Defaults serve the embedded store that `kiln train`
 * writes (`<home>/tracking.db`, artifacts in `<home>/artifacts`).
 */
import type { Command } from 'commander';
import { resolveHome } from '../common/home.js';
import { listeningOn } from './errors.js';
import { checkStoreUri, parsePort } from './parse.js';
import { defaultArtifactsDestination, defaultStoreUri } from '../tracking/client/index.js';
import { startTrackingServer } from '../tracking/server/index.js';
import { addLogDirOption, openCliLogs } from './logs.js';

interface ServerFlags {
  host: string;
  port: string;
  backendStoreUri?: string;
  artifactsDestination?: string;
  home?: string;
  json?: boolean;
  logDir?: string;
}

export function registerServerCommand(program: Command): void {
  addLogDirOption(program.command('server'))
    .description('run the tracking server and model registry (MLflow REST API 2.0)')
    .option('--host <host>', 'interface to bind (0.0.0.0 exposes it to the network)', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '5000')
    .option('--backend-store-uri <uri>', 'sqlite:///<file> or postgresql://user:pass@host:port/db (default sqlite:///<home>/tracking.db)')
    .option('--artifacts-destination <dir>', 'folder for proxied artifacts (default <home>/artifacts)')
    .option('--home <dir>', 'Kiln data directory (default $KILN_HOME or ./kiln-data)')
    .option('--json', 'print {"url", ...} as one JSON line once listening')
    .addHelpText(
      'after',
      '\nAuthentication (off by default): set KILN_SERVER_TOKEN for bearer tokens, or KILN_SERVER_USERNAME and\nKILN_SERVER_PASSWORD for basic auth. /health stays open.',
    )
    .action(async (flags: ServerFlags) => {
      const home = resolveHome(flags.home);
      const port = parsePort('--port', flags.port);
      if (flags.backendStoreUri !== undefined) checkStoreUri(flags.backendStoreUri, '--backend-store-uri');
      const backendStoreUri = flags.backendStoreUri ?? defaultStoreUri(home);
      const artifactsDestination = flags.artifactsDestination ?? defaultArtifactsDestination(home);
      const env = process.env;
      const auth =
        env.KILN_SERVER_TOKEN || env.KILN_SERVER_USERNAME
          ? {
              ...(env.KILN_SERVER_TOKEN ? { token: env.KILN_SERVER_TOKEN } : {}),
              ...(env.KILN_SERVER_USERNAME ? { basic: { username: env.KILN_SERVER_USERNAME, password: env.KILN_SERVER_PASSWORD ?? '' } } : {}),
            }
          : undefined;
      const logs = openCliLogs(flags);
      const logger = logs.logger('tracking');
      const server = await listeningOn('--port', () => startTrackingServer({ host: flags.host, port, backendStoreUri, artifactsDestination, auth, logger })).catch((error: unknown) => {
        logs.close();
        throw error;
      });
      const address = server.server.address();
      const actualPort = typeof address === 'object' && address !== null ? address.port : port;
      const url = `http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${actualPort}`;
      logger.info(`kiln tracking server listening on ${url} (store ${backendStoreUri.replace(/\/\/[^@/]*@/, '//***@')}, artifacts ${artifactsDestination})`);
      if (flags.json) console.log(JSON.stringify({ url, backend_store_uri: backendStoreUri.replace(/\/\/[^@/]*@/, '//***@'), artifacts_destination: artifactsDestination }));
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void server.close().finally(() => {
            logs.close();
            resolve();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
