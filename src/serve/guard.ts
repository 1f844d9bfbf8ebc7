import { isIP } from 'node:net';
import { tokenMatches } from './token';

// Who may ask what of the server. A page elsewhere must not be able to kill your tasks: a browser
// lets any page send a POST to 127.0.0.1, and DNS rebinding lets it read answers under a name of its
// own. So: the Host header must be the address the server is bound to (rebinding fails), requests
// that change anything must come from the page's own origin and carry the token, and on an address
// other than loopback every API request needs the token.

export interface Refusal {
  status: 400 | 403;
  error: string;
}

export interface GuardConfig {
  /** The address given to --host. */
  host: string;
  port: number;
  token: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const isLoopback = (host: string): boolean => LOOPBACK.has(host) || /^127\./.test(host);
const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';

/** The Host headers that name this server. */
export function allowedHosts(c: GuardConfig): Set<string> | null {
  if (isWildcard(c.host)) return null; // any name the machine answers to; the token guards everything then
  const named = (h: string) => (isIP(h) === 6 ? `[${h}]:${c.port}` : `${h}:${c.port}`);
  const hosts = new Set([named(c.host)]);
  if (isLoopback(c.host)) for (const h of ['127.0.0.1', 'localhost', '::1']) hosts.add(named(h));
  return hosts;
}

export interface Asked {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** ?token=, for GETs only (EventSource cannot send headers). */
  queryToken?: string;
}

const header = (h: Asked['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Null when the request may go on; else why not. */
export function refuse(a: Asked, c: GuardConfig, hosts: Set<string> | null): Refusal | null {
  const host = header(a.headers, 'host');
  if (host === undefined) return { status: 400, error: 'the request has no Host header' };
  if (hosts && !hosts.has(host.toLowerCase())) return { status: 403, error: `this server answers to ${[...hosts][0]}, not to '${host}' (DNS rebinding is refused)` };
  const changes = a.method !== 'GET' && a.method !== 'HEAD';
  if (changes) {
    const origin = header(a.headers, 'origin');
    if (origin !== undefined && origin !== `http://${host}`) return { status: 403, error: `a request from ${origin} may not change anything here` };
    const site = header(a.headers, 'sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return { status: 403, error: `a ${site} request may not change anything here` };
  }
  const api = a.path.startsWith('/api/');
  if (!changes && !(api && !isLoopback(c.host))) return null;
  const auth = header(a.headers, 'authorization');
  const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
  const given = bearer ?? (changes ? undefined : a.queryToken);
  if (given === undefined) return { status: 403, error: 'this request needs the token the server printed at start (Authorization: Bearer TOKEN)' };
  if (!tokenMatches(given, c.token)) return { status: 403, error: 'the token is wrong' };
  return null;
}
