/** `npm run test:package`: pack the project, install the tarball into an empty folder, run it. */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = { ...base, testPathIgnorePatterns: ['/node_modules/'], roots: ['<rootDir>/test/package'], testTimeout: 600000 };
