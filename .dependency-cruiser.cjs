/** ARCHITECTURE.md "Arrows", enforced: `npx depcruise apps libs --config .dependency-cruiser.cjs`. */
const LIBS = ['planning', 'audience', 'messaging', 'delivery', 'tracking', 'analytics', 'automation', 'access'];
// Besides core and persistence (always allowed), which libs each lib may import.
const MAY_IMPORT = {
  planning: [],
  access: [],
  audience: [],
  messaging: [],
  delivery: ['audience', 'messaging', 'planning'],
  tracking: ['delivery'],
  analytics: [],
  automation: ['delivery', 'audience', 'messaging', 'planning'],
};

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'no cycles, between libs or inside one',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'core imports nothing of ours and no I/O',
      from: { path: '^libs/core/' },
      to: { path: ['^libs/(?!core/)', '^apps/'] },
    },
    {
      name: 'core-no-io-packages',
      severity: 'error',
      from: { path: '^libs/core/' },
      to: { dependencyTypes: ['npm', 'npm-dev'], path: 'node_modules/(@nestjs|typeorm|pg|ioredis|bullmq)' },
    },
    { name: 'libs-never-import-apps', severity: 'error', from: { path: '^libs/' }, to: { path: '^apps/' } },
    {
      name: 'persistence-imports-only-core',
      severity: 'error',
      from: { path: '^libs/persistence/' },
      to: { path: '^libs/(?!core/|persistence/)' },
    },
    {
      name: 'lib-front-door',
      severity: 'error',
      comment: 'another lib is imported only through its src/index.ts',
      from: { path: '^libs/([^/]+)/' },
      to: { path: '^libs/([^/]+)/src/(?!index\\.ts$)', pathNot: '^libs/$1/' },
    },
    ...LIBS.map((lib) => ({
      name: `${lib}-arrows`,
      severity: 'error',
      comment: `${lib} may import core, persistence${MAY_IMPORT[lib].length ? `, ${MAY_IMPORT[lib].join(', ')}` : ''}`,
      from: { path: `^libs/${lib}/` },
      to: { path: `^libs/(?!(core|persistence|${lib}${MAY_IMPORT[lib].map((l) => `|${l}`).join('')})/)` },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '(^dist/|\\.spec\\.ts$)' },
  },
};
