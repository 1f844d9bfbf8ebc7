let addon: string | undefined;

/**
 * better-sqlite3's compiled addon, named directly: better-sqlite3 otherwise finds it through
 * `bindings`, which probes a dozen paths, and which cannot work once a program is bundled into one file.
 */
export function addonPath(): string {
  addon ??= require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  return addon;
}
