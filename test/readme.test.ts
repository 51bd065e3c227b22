import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, startServiceProcess } from './helpers/service-process';
import { createTestDatabase, TestDatabase } from './helpers/test-database';

// The service as a user starts it (src/main.ts: config, migrations on start, HTTP), driven with the
// README's worked example, so the README cannot drift from what the service does.

let database: TestDatabase;
let service: ServiceProcess;
let url: string;
let token: string;
let dataDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'image-catalog-readme-'));
  // As a new user starts it: no auth settings at all, so dev mode makes and prints a token.
  service = await startServiceProcess({ DATABASE_URL: database.url, DATA_DIR: dataDir }, [/Authorization: Bearer (\S+)/]);
  url = service.url;
  token = /Authorization: Bearer (\S+)/.exec(service.output())?.[1] as string;
}, 30_000);

afterAll(async () => {
  if (service.child.exitCode === null) service.child.kill('SIGKILL');
  await database.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

function readmeExamples(): string[] {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Worked example'));
  return [...section.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]);
}

async function post(query: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: Record<string, { id?: string }>; errors?: { extensions?: { code?: string; fields?: { field: string }[] } }[] };
}

describe('the README', () => {
  it('worked example runs as written against a freshly started service', async () => {
    const examples = readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(8);
    const ids: Record<string, string> = {};
    for (const example of examples) {
      const query = example.replace(/\b(GROUP_ID|SECRET_ID|IMAGE_ID)\b/g, (placeholder) => ids[placeholder]);
      const body = await post(query);
      if (example.includes('Bad_Name')) {
        expect(body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
        expect(body.errors?.[0].extensions?.fields?.map((f) => f.field)).toEqual(['name', 'url']);
        continue;
      }
      expect({ example, errors: body.errors }).toEqual({ example, errors: undefined });
      ids.GROUP_ID ??= body.data?.createGroup?.id as string;
      ids.SECRET_ID ??= body.data?.createImagePullSecret?.id as string;
      ids.IMAGE_ID ??= body.data?.createImage?.id as string;
    }
    const launchable = await post(`{ launchableImages(groupId: "${ids.GROUP_ID}", gpu: true) { name url: urlFor(gpu: true) } }`);
    expect(launchable.data?.launchableImages).toEqual([
      { name: 'base-notebook', url: 'jupyter/base-notebook:2023-10-20' },
    ]);
  });

  it('prints a dev admin token at start and prefills GraphiQL with a working one', async () => {
    expect(service.output()).toContain('DEV MODE');
    const html = await (await fetch(url, { headers: { accept: 'text/html' } })).text();
    const settings = JSON.parse(/id="graphiql-settings">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}') as { headers: string };
    const authorization = (JSON.parse(settings.headers) as { Authorization: string }).Authorization;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ query: '{ images { totalCount } }' }),
    });
    expect(((await response.json()) as { data: unknown }).data).toEqual({ images: { totalCount: 2 } });
  });

  it('mints a member token with npm run token that sees only what the group may use', async () => {
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'src', 'cli', 'token.ts'), '--group', 'data-science'], {
      env: { ...process.env, DATA_DIR: dataDir, AUTH_JWT_SECRET: '', NODE_ENV: '' },
      encoding: 'utf8',
    });
    const memberToken = run.stdout.trim();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${memberToken}` },
      body: JSON.stringify({ query: '{ images { nodes { name } } groups { nodes { name } } }' }),
    });
    expect(await response.json()).toEqual({
      data: { images: { nodes: [{ name: 'base-notebook' }] }, groups: { nodes: [{ name: 'data-science' }] } },
    });
  });

  it("audit trail example lists the worked example's changes", async () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Audit trail'));
    const query = /```graphql\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const body = (await post(query)) as { data?: { auditEvents: { nodes: { operation: string; entityName: string; actor: string }[] } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    const events = body.data?.auditEvents.nodes.map((e) => `${e.operation} ${e.entityName} by ${e.actor}`);
    expect(events).toEqual(['SET_GROUPS tf-2.15 by dev-admin', 'UPDATE tf-2.15 by dev-admin', 'CREATE base-notebook by dev-admin', 'CREATE tf-2.15 by dev-admin']);
  });

  it('stops cleanly on SIGTERM', async () => {
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });
});
