/** taskwatch's version, as package.json gives it (a test keeps the two the same). */
export const VERSION = '0.1.0';
