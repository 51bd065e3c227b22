import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { startTestApp, TestApp } from './helpers/test-app';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

async function pageSettings(url: string | URL): Promise<Record<string, unknown>> {
  const html = await (await fetch(url, { headers: HTML })).text();
  return JSON.parse(/<script type="application\/json" id="graphiql-settings">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}') as Record<string, unknown>;
}

describe('GraphiQL', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('is served to a browser at GET /graphql with a strict content security policy', async () => {
    const response = await fetch(app.url, { headers: HTML });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await response.text();
    expect(html).toContain('<div id="graphiql">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('loads every script and style from this service, none of which names a CDN', async () => {
    const html = await (await fetch(app.url, { headers: HTML })).text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((asset) => asset !== 'data:,');
    expect(assets).toEqual(['/graphiql/graphiql.css', '/graphiql/react.js', '/graphiql/react-dom.js', '/graphiql/graphiql.js', '/graphiql/start.js']);
    for (const asset of assets) {
      const response = await fetch(new URL(asset, app.url));
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      expect(response.headers.get('content-type')).toMatch(asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      const body = await response.text();
      const cdnUrl = /https?:\/\/(unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|fonts\.gstatic\.com|esm\.sh)/;
      expect({ asset, cdn: cdnUrl.exec(body)?.[0] }).toEqual({ asset, cdn: undefined });
    }
  });

  it('leaves the header editor with an empty bearer token outside dev mode', async () => {
    expect(await pageSettings(app.url)).toEqual({ endpoint: '/graphql', headers: '{\n  "Authorization": "Bearer "\n}' });
  });

  it('answers an unknown asset with 404 and leaves GraphQL GET requests to the API', async () => {
    expect((await fetch(new URL('/graphiql/package.json', app.url))).status).toBe(404);
    expect((await fetch(new URL('/graphiql/..%2Fpackage.json', app.url))).status).toBe(404);
    const api = await fetch(app.url, { headers: { accept: 'application/json' } });
    expect(api.headers.get('content-type')).not.toMatch(/html/);
  });
});

describe('GraphiQL in dev mode', () => {
  let app: TestApp;
  // This machine's own non-loopback address: a browser elsewhere on the network arrives from one.
  const lanAddress = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && !address.internal && address.family === 'IPv4')?.address;
  beforeAll(async () => {
    app = await startTestApp({ graphiqlDevToken: true, host: '0.0.0.0' });
  });
  afterAll(() => app.close());

  it('prefills a working admin token for a browser on this machine', async () => {
    const settings = await pageSettings(app.url);
    const token = /^\{\n {2}"Authorization": "Bearer (\S+)"\n\}$/.exec(String(settings.headers))?.[1] as string;
    expect(settings.schemaHeaders).toEqual({ Authorization: `Bearer ${token}` });
    expect(await app.as(token).ok('mutation { createGroup(input: { name: "from-graphiql" }) { createdBy } }')).toEqual({ createGroup: { createdBy: 'graphiql-admin' } });
  });

  (lanAddress ? it : it.skip)('gives a browser elsewhere on the network no token', async () => {
    const url = new URL(app.url);
    url.hostname = lanAddress as string;
    const settings = await pageSettings(url);
    expect(settings).toEqual({ endpoint: '/graphql', headers: '{\n  "Authorization": "Bearer "\n}' });
  });
});

describe('GraphiQL in dev mode, reached through a name that is not local (DNS rebinding)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ graphiqlDevToken: true });
  });
  afterAll(() => app.close());

  it('gives no token to a page that rebound its own domain to 127.0.0.1', async () => {
    const { port } = new URL(app.url);
    const html = await new Promise<string>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, path: '/graphql', headers: { ...HTML, host: `attacker.example.com:${port}` } }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(body));
      });
      request.on('error', reject);
      request.end();
    });
    expect(html).toContain('id="graphiql-settings"');
    expect(html).not.toContain('Bearer ey');
  });
});

describe('GraphiQL switched off (GRAPHIQL=false, the production default)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { GRAPHIQL: 'false' } });
  });
  afterAll(() => app.close());

  it('is not served', async () => {
    const response = await fetch(app.url, { headers: HTML });
    expect(await response.text()).not.toContain('graphiql');
    expect((await fetch(new URL('/graphiql/graphiql.js', app.url))).status).toBe(404);
  });
});
