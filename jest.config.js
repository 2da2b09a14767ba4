// One jest run, three tiers (STYLE.md "Tests"): unit specs beside the code, medium and e2e under test/.
// Nest 12 packages are ESM-only; jest's CommonJS runtime cannot require(esm) on Node 20, so swc
// compiles them to CommonJS along with our TypeScript (transformIgnorePatterns below).
const swcrc = JSON.parse(require('fs').readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swcrc.jsc.paths;
delete swcrc.jsc.baseUrl;
delete swcrc.$schema;
const transform = { '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', { ...swcrc, swcrc: false }] };
const moduleNameMapper = {
  '^@closeloop/(.*)$': '<rootDir>/libs/$1/src/index.ts',
};
const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform,
  moduleNameMapper,
  // htmlparser2 12 and its dom* / entities packages are ESM-only too.
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|nestjs-pino|htmlparser2|entities|domhandler|domutils|dom-serializer|domelementtype)/)',
  ],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};
module.exports = {
  // Project configs cannot set this; real servers and first-run transforms need more than 5 s.
  testTimeout: 60000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'medium',
      testMatch: ['<rootDir>/test/medium/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};
