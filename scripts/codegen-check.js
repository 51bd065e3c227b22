// Fails when src/generated/ differs from what codegen makes of schema/ now (CI runs this).
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');

const target = 'src/generated/graphql.ts';
const before = readFileSync(target, 'utf8');
execFileSync('npx', ['graphql-codegen', '--config', 'codegen.yml', '--silent'], { stdio: 'inherit' });
const after = readFileSync(target, 'utf8');
if (before !== after) {
  console.error(`${target} was stale: it is regenerated now; review and commit it (npm run codegen).`);
  process.exit(1);
}
console.log(`${target} is current.`);
