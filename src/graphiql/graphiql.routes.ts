import { dirname, join } from 'node:path';
import express, { Router } from 'express';

export interface GraphiQLOptions {
  /** The GraphQL endpoint the page talks to (same origin). */
  endpoint: string;
  /** Dev mode: a fresh admin token per page load, prefilled as the Authorization header. */
  devToken?: () => Promise<string>;
}

const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/**
 * Every file the page loads, served by us: no CDN, so GraphiQL works on an air-gapped cluster.
 * graphiql 4's UMD build bundles its editor (CodeMirror 5) and inlines its fonts.
 */
const ASSETS: Record<string, { path: string; type: string }> = {
  'react.js': { path: join(packageDir('react'), 'umd', 'react.production.min.js'), type: 'text/javascript' },
  'react-dom.js': { path: join(packageDir('react-dom'), 'umd', 'react-dom.production.min.js'), type: 'text/javascript' },
  'graphiql.js': { path: join(packageDir('graphiql'), 'dist', 'index.umd.js'), type: 'text/javascript' },
  'graphiql.css': { path: join(packageDir('graphiql'), 'dist', 'style.css'), type: 'text/css' },
};

/** Starts GraphiQL with the page's settings; served as a file so no inline script is needed. */
const START_SCRIPT = `(function start() {
  var settings = JSON.parse(document.getElementById('graphiql-settings').textContent);
  var send = GraphiQL.createFetcher({ url: settings.endpoint });
  // GraphiQL loads the schema before its header editor is ready, so that first request goes
  // without the editor's headers: in dev mode the schema fetch alone falls back to the page's
  // token. Operations send exactly what the editor holds, so deleting the header takes effect.
  function fetcher(params, options) {
    var headers = (options && options.headers) || {};
    var hasAuthorization = Object.keys(headers).some(function (name) { return name.toLowerCase() === 'authorization'; });
    if (settings.schemaHeaders && !hasAuthorization && params.operationName === 'IntrospectionQuery') {
      options = Object.assign({}, options, { headers: Object.assign({}, settings.schemaHeaders, headers) });
    }
    return send(params, options);
  }
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: settings.headers,
      defaultEditorToolsVisibility: 'headers',
      defaultQuery: '# Images you may use, with their groups\\n{\\n  images(first: 20) {\\n    totalCount\\n    nodes { name displayName type url global groups { name } }\\n  }\\n}\\n',
    }),
  );
})();
`;

const ASSET_PATH = '/graphiql/';

// Scripts only from us; GraphiQL sets inline styles and uses data: fonts and images.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

const LOOPBACK = /^(?:127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const LOCAL_HOST_HEADER = /^(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])(?::\d+)?$/i;

/** GET /graphql from a browser (it prefers HTML) gets GraphiQL; every other request goes on to Apollo. */
export function graphiqlRoutes(options: GraphiQLOptions): Router {
  const router = express.Router();
  router.get(options.endpoint, async (req, res, next) => {
    if (req.accepts(['application/json', 'text/html']) !== 'text/html') return next();
    try {
      // The dev admin token goes only to a browser on this machine, even when HOST opens the port
      // wider, and only when it asked for a local name: a page elsewhere cannot rebind its own
      // domain to 127.0.0.1 and read the token.
      const local = LOOPBACK.test(req.socket.remoteAddress ?? '') && LOCAL_HOST_HEADER.test(req.headers.host ?? '');
      const token = options.devToken && local ? await options.devToken() : undefined;
      res.set('content-security-policy', CONTENT_SECURITY_POLICY).set('cache-control', 'no-store').type('html').send(page(options.endpoint, token));
    } catch (error) {
      next(error);
    }
  });
  router.get(`${ASSET_PATH}start.js`, (_, res) => {
    res.type('text/javascript').set('cache-control', 'no-cache').send(START_SCRIPT);
  });
  router.get(`${ASSET_PATH}:file`, (req, res, next) => {
    const asset = Object.hasOwn(ASSETS, req.params.file) ? ASSETS[req.params.file] : undefined;
    if (!asset) return next();
    res.type(asset.type).sendFile(asset.path, { maxAge: '1h' });
  });
  return router;
}

function page(endpoint: string, token: string | undefined): string {
  const authorization = token ? { Authorization: `Bearer ${token}` } : undefined;
  const settings = {
    endpoint,
    headers: authorization ? JSON.stringify(authorization, null, 2) : '{\n  "Authorization": "Bearer "\n}',
    schemaHeaders: authorization,
  };
  // A JSON script element is data, not code: the strict script-src still holds. "<" is escaped so
  // no value can close the element.
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  const asset = (file: string) => `${ASSET_PATH}${file}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>image-catalog GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset('graphiql.css')}">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="graphiql-settings">${json}</script>
<script src="${asset('react.js')}"></script>
<script src="${asset('react-dom.js')}"></script>
<script src="${asset('graphiql.js')}"></script>
<script src="${asset('start.js')}"></script>
</body>
</html>
`;
}
