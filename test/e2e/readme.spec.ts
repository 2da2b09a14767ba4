import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeConfig } from '@closeloop/core';

describe('README stays true', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

  it('carries the configuration table generated from the variables the processes read', () => {
    expect(readme).toContain(describeConfig());
  });

  it('names the two commands and every npm script', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm test');
    for (const script of ['services', 'migrate', 'start:api', 'start:worker', 'cli', 'demo', 'bench']) {
      expect(pkg.scripts[script]).toBeDefined();
      expect(readme).toContain(`npm run ${script}`);
    }
  });
});
