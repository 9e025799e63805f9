/**
 * cli/server-command — `kiln server`: the tracking server and registry (MLflow's REST API 2.0),
 * started with MLflow's own flag names. Defaults serve the embedded store that `kiln train`
 * writes (`<home>/tracking.db`, artifacts in `<home>/artifacts`).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolveHome } from '../common/home.js';
import { listeningOn } from './errors.js';
import { checkStoreUri, parsePort } from './parse.js';
import { defaultStoreUri, resolveArtifactsDestination } from '../tracking/client/index.js';
import { parseList, parseXFrameOptions, startTrackingServer, X_FRAME_OPTIONS, type SecurityOptions, type XFrameOptions } from '../tracking/server/index.js';
import { addLogDirOption, openCliLogs } from './logs.js';

interface ServerFlags {
  host: string;
  port: string;
  backendStoreUri?: string;
  artifactsDestination?: string;
  home?: string;
  json?: boolean;
  logDir?: string;
  allowedHosts?: string;
  corsAllowedOrigins?: string;
  xFrameOptions: XFrameOptions;
  disableSecurityMiddleware?: boolean;
}

/** MLflow's security flags, each also read from MLflow's environment variable. */
function addSecurityOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--allowed-hosts <hosts>', 'comma-separated Host headers to answer (wildcards: *.corp.example, 192.168.*; "*" for any). Default: localhost, 127.0.0.1, [::1] and the bound host, any port').env(
        'MLFLOW_SERVER_ALLOWED_HOSTS',
      ),
    )
    .addOption(
      new Option('--cors-allowed-origins <origins>', 'comma-separated origins whose pages may call the API (https://app.corp.example, http://localhost:*; "*" for any). Default: only the server\'s own pages').env(
        'MLFLOW_SERVER_CORS_ALLOWED_ORIGINS',
      ),
    )
    .addOption(
      new Option('--x-frame-options <value>', `who may frame the UI (X-Frame-Options, CSP frame-ancestors): ${X_FRAME_OPTIONS.join(', ')}`)
        .env('MLFLOW_SERVER_X_FRAME_OPTIONS')
        .default('SAMEORIGIN')
        .argParser((value: string) => {
          try {
            return value.trim() === '' ? 'SAMEORIGIN' : parseXFrameOptions(value);
          } catch (error) {
            throw new InvalidArgumentError((error as Error).message);
          }
        }),
    )
    .option('--disable-security-middleware', 'turn off Host, Origin and CORS checks and security headers (also MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE=true); not for a reachable server');
}

function securityOptions(flags: ServerFlags): SecurityOptions {
  const envDisabled = /^(true|1)$/i.test(process.env.MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE ?? '');
  return {
    allowedHosts: parseList(flags.allowedHosts),
    corsAllowedOrigins: parseList(flags.corsAllowedOrigins),
    xFrameOptions: flags.xFrameOptions,
    disabled: flags.disableSecurityMiddleware === true || envDisabled,
  };
}

export function registerServerCommand(program: Command): void {
  const command = addLogDirOption(program.command('server'))
    .description('run the tracking server and model registry (MLflow REST API 2.0)')
    .option('--host <host>', 'interface to bind (0.0.0.0 exposes it to the network)', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '5000')
    .option('--backend-store-uri <uri>', 'sqlite:///<file> or postgresql://user:pass@host:port/db (default sqlite:///<home>/tracking.db)')
    .option('--artifacts-destination <uri>', 'where proxied artifacts are kept: a folder, or s3://bucket/prefix (AWS credential chain; MLFLOW_S3_ENDPOINT_URL for S3-compatible servers) (default $KILN_ARTIFACTS_DESTINATION, then <home>/artifacts)')
    .option('--home <dir>', 'Kiln data directory (default $KILN_HOME or ./kiln-data)')
    .option('--json', 'print {"url", ...} as one JSON line once listening');
  addSecurityOptions(command)
    .addHelpText(
      'after',
      '\nAuthentication (off by default): set KILN_SERVER_TOKEN for bearer tokens, or KILN_SERVER_USERNAME and\nKILN_SERVER_PASSWORD for basic auth. /health stays open.\n' +
        'Browser safety (on by default): requests with another Host are refused (DNS rebinding), pages of other origins\n' +
        'cannot write (403) or read answers (no CORS headers), and API writes must be application/json (415).',
    )
    .action(async (flags: ServerFlags) => {
      const home = resolveHome(flags.home);
      const port = parsePort('--port', flags.port);
      if (flags.backendStoreUri !== undefined) checkStoreUri(flags.backendStoreUri, '--backend-store-uri');
      const security = securityOptions(flags);
      const backendStoreUri = flags.backendStoreUri ?? defaultStoreUri(home);
      const artifactsDestination = resolveArtifactsDestination(flags.artifactsDestination, home);
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
      const server = await listeningOn('--port', () => startTrackingServer({ host: flags.host, port, backendStoreUri, artifactsDestination, auth, logger, security })).catch((error: unknown) => {
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
