/** The tables' module (cli-table3 and the compact layout) loads only when a table is printed. */
export const tables = () => require('./render') as typeof import('./render');
