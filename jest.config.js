/** One config for both databases: DATABASE_URL chooses (unset or sqlite: = SQLite, mysql:// = MySQL/MariaDB). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checking is `npm run typecheck`'s job; transpiling alone keeps the suite fast.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  testTimeout: 30000,
  setupFiles: ['<rootDir>/test/helpers/test-environment.ts'],
};
