/**
 * cli/ports — a port a command will listen on later, tried now: `kiln start` serves its API only
 * after a study of many minutes, and a port in use should stop it before the study, not after.
 * (Something may still take the port in between; the later listen then fails with the same code.)
 */
import { createServer } from 'node:net';
import { listenFailure } from './errors.js';

/** Resolves when `port` on `host` can be listened on now (0 always can); else throws KILN_ERR_PORT_IN_USE (or the like) naming `flag`. */
export async function checkPortFree(flag: string, host: string | undefined, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => reject(listenFailure(error, flag) ?? error));
    probe.listen({ host: host ?? '127.0.0.1', port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
