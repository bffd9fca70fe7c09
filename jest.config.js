/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The packed-and-installed test builds and installs the package: `npm run test:package` (CI).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/package/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  // The SDK's notice that Node 20 support ends in 2027 (README: "Requirements") is not a test failure.
  setupFiles: ['<rootDir>/test/setup-env.js'],
  testTimeout: 60000,
};
