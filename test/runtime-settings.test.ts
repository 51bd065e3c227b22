import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; config: { nodeOptions: string } };

/** The service's heap settings: one value in package.json, used by `npm start`, the container and the benchmark. */
describe('node heap settings', () => {
  it('npm start puts config.nodeOptions first in NODE_OPTIONS, so an operator\'s own NODE_OPTIONS still wins', () => {
    expect(pkg.config.nodeOptions).toMatch(/--max-old-space-size=\d+/);
    expect(pkg.scripts.start).toContain('NODE_OPTIONS="$npm_package_config_nodeOptions ${NODE_OPTIONS:-}" exec node dist/main.js');
  });

  it('the container image sets the same NODE_OPTIONS', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(/NODE_OPTIONS="([^"]*)"/.exec(dockerfile)?.[1]).toBe(pkg.config.nodeOptions);
  });

  it('node takes them from NODE_OPTIONS, and a later --max-old-space-size overrides', () => {
    const limitMb = (nodeOptions: string) =>
      Number(
        execFileSync(process.execPath, ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit / 1048576))'], {
          env: { ...process.env, NODE_OPTIONS: nodeOptions },
        }),
      );
    const oldSpaceMb = Number(/--max-old-space-size=(\d+)/.exec(pkg.config.nodeOptions)?.[1]);
    const configured = limitMb(pkg.config.nodeOptions);
    // The limit is old space plus the young generation the semi-space size implies.
    expect(configured).toBeGreaterThan(oldSpaceMb);
    expect(configured).toBeLessThan(oldSpaceMb + 200);
    expect(limitMb(`${pkg.config.nodeOptions} --max-old-space-size=1024`)).toBeGreaterThan(1024);
  });
});
