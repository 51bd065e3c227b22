/**
 * `npm run bench:profile -- FILE.cpuprofile [--top 30]`: where a V8 CPU profile (from
 * `npm run bench -- --cpu-prof DIR`) spent its time, as text: self time by package (node_modules
 * name, our own src/, node internals, GC, idle) and the functions with the most self time.
 * Idle time is the service waiting (on the database or for requests), so shares are of busy time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = '(idle)';

function packageOf(url: string, functionName: string): string {
  if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') return functionName;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1];
  if (url.includes('/dist/') || url.includes('/src/')) return 'image-catalog';
  if (url.startsWith('node:') || url === '') return 'node internals';
  return url;
}

function main(): void {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 30;
  const file = args.find((arg, i) => !arg.startsWith('--') && i !== topIndex + 1);
  if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--top 30]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfByFunction = new Map<string, number>();
  const selfByPackage = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const micros = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === IDLE) {
      idle += micros;
      return;
    }
    busy += micros;
    const pkg = packageOf(url, functionName);
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + micros);
    const where = url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|src)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`;
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + micros);
  });
  const share = (micros: number) => `${((100 * micros) / busy).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms`;
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  console.log(`busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s\n\nself time by package:`);
  for (const [name, micros] of sorted(selfByPackage).slice(0, 20)) console.log(`  ${share(micros)}  ${name}`);
  console.log(`\ntop ${top} functions by self time:`);
  for (const [name, micros] of sorted(selfByFunction).slice(0, top)) console.log(`  ${share(micros)}  ${name}`);
}

main();
