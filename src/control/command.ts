import type { Registry } from '../db/registry';

/** control's options as parsed; each command reads the ones it takes. */
export interface ControlArgs {
  json: boolean;
  /** Tables with every column (boxed), not just what fits 80 columns. */
  wide?: boolean;
  yes?: boolean;
  release?: string;
  forget?: string;
  name?: string;
  info1?: string;
  info2?: string;
  info3?: string;
  unique?: boolean;
  ttl?: string;
  limit?: string;
  feedback?: string;
  follow?: boolean;
  kill?: string;
  killall?: string;
  grace?: string;
  force?: boolean;
  wait?: string[];
  timeout?: string;
  logs?: string;
  lines?: string;
  /** --scale NAME N, and the command after -- */
  scale?: string[];
  command?: string[];
  deletePool?: string;
  feedpath?: string;
  maxTime?: string;
  restart?: string;
  maxRestarts?: string;
  backoff?: string;
  logMax?: string;
  logKeep?: string;
  /** The page's built files (dist/web), found from the bin as launchBin is. */
  webDir: string;
  /** --serve's address and port. */
  host?: string;
  port?: string;
  /** Where the launch bin is (a pool's supervisor is one): beside control's own. */
  launchBin: string;
}

/** Prints one line (or a block) on stdout. */
export type Out = (text: string) => void;

/**
 * One control command. Given its options it checks them (a bad one is a usage error before any
 * registry is opened) and returns what works on the registry, prints, and gives the exit status.
 */
export type Command = (a: ControlArgs) => (reg: Registry, out: Out) => Promise<number> | number;
