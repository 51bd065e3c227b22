import { startTestApp, TestApp } from './helpers/test-app';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

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
    const html = await (await fetch(app.url, { headers: HTML })).text();
    const settings = JSON.parse(/<script type="application\/json" id="graphiql-settings">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}');
    expect(settings).toEqual({ endpoint: '/graphql', headers: '{\n  "Authorization": "Bearer "\n}', baseHeaders: {} });
  });

  it('answers an unknown asset with 404 and leaves GraphQL GET requests to the API', async () => {
    expect((await fetch(new URL('/graphiql/package.json', app.url))).status).toBe(404);
    expect((await fetch(new URL('/graphiql/..%2Fpackage.json', app.url))).status).toBe(404);
    const api = await fetch(app.url, { headers: { accept: 'application/json' } });
    expect(api.headers.get('content-type')).not.toMatch(/html/);
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
