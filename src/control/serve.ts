import { isIP } from 'node:net';
import { ExitError, EXIT } from '../errors';
import { stateDir } from '../db/location';
import type { Command } from './command';

// control --serve [--host 127.0.0.1] [--port 8010]: the HTTP API and the live page, in the
// foreground until SIGINT or SIGTERM. fastify is loaded only here, so no other command pays for it.

export const DEFAULT_PORT = 8010;

export const command: Command = (a) => {
  const host = a.host ?? '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0) throw new ExitError(`--host needs an IP address to bind (127.0.0.1, 0.0.0.0, ::1 ...); got '${host}'`, EXIT.usage);
  const portText = a.port ?? String(DEFAULT_PORT);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new ExitError(`--port needs a port number from 0 to 65535; got '${portText}'`, EXIT.usage);
  return async (reg, out) => {
    const { loadToken } = require('../serve/token') as typeof import('../serve/token');
    const { startServer } = require('../serve/server') as typeof import('../serve/server');
    const { isLoopback } = require('../serve/guard') as typeof import('../serve/guard');
    const { token, file } = loadToken(stateDir());
    let served: Awaited<ReturnType<typeof startServer>>;
    try {
      served = await startServer({ reg, host, port: Number(portText), token, launchBin: a.launchBin, webDir: a.webDir });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new ExitError(`port ${portText} on ${host} is in use; choose another with --port`, EXIT.refused);
      if (code === 'EACCES') throw new ExitError(`may not bind port ${portText} on ${host}; choose a port above 1023`, EXIT.refused);
      if (code === 'EADDRNOTAVAIL') throw new ExitError(`${host} is not an address of this machine`, EXIT.refused);
      throw err;
    }
    out(`taskwatch: serving ${reg.file}`);
    out(`open ${served.url}`);
    out(`(the token is kept in ${file}; API clients send it as Authorization: Bearer TOKEN)`);
    if (!isLoopback(host)) out(`warning: bound to ${host}: anyone who can reach this port can load the page; the API answers only with the token`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.once('SIGHUP', stop);
    });
    await served.close();
    return EXIT.ok;
  };
};
