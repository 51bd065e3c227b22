import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { ErrorRequestHandler, RequestHandler } from 'express';
import { DataSource } from 'typeorm';
import type { VerifyAuthorization } from './auth/token-verifier';
import type { Config } from './config';
import { Context, createContext } from './context';
import { sqlLogger } from './db/data-source';
import { hostPool, poolStats } from './db/pool-stats';
import { transactionRetries } from './db/transaction';
import { createFormatError } from './errors';
import { graphiqlRoutes } from './graphiql/graphiql.routes';
import { hideFieldSuggestionsPlugin } from './graphql/field-suggestions';
import { jitGateway } from './graphql/jit-executor';
import { noStorePlugin } from './graphql/no-store';
import { queryCostPlugin } from './graphql/query-cost';
import { DEFAULT_QUERY_LIMITS, formatQueryLimitError, queryLimitRules } from './graphql/query-limits';
import { healthRoutes } from './observability/health.routes';
import { createLogger, Logger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { Observation, observationPlugin, observeRequests } from './observability/request-observer';
import type { PasswordCipher } from './pull-secrets/password-cipher';
import { buildSchema } from './schema';
import { AvailabilityChecker } from './images/availability-checker';

/**
 * A body express.json could not read, answered as GraphQL errors are. body-parser's error holds
 * the raw body (variables, passwords): it is never logged, and only its kind decides the answer.
 */
const rejectUnreadableBody = (maxBodyBytes: number): ErrorRequestHandler => (error: { type?: unknown; status?: unknown }, _req, res, next) => {
  const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : undefined;
  if (status === undefined) return next(error);
  // The caller went away mid-body: no one would read an answer, and the request counts as aborted.
  if (error.type === 'request.aborted') return void res.destroy();
  const [code, message] =
    error.type === 'entity.too.large'
      ? ['PAYLOAD_TOO_LARGE', `The request body is larger than ${maxBodyBytes} bytes (set by GRAPHQL_MAX_BODY_BYTES)`]
      : error.type === 'entity.parse.failed'
        ? ['BAD_REQUEST', 'The request body is not valid JSON']
        : ['BAD_REQUEST', 'The request body cannot be read'];
  (res.locals.observation as Observation).errorCodes.push(code);
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
};

/** Whatever else fails outside GraphQL: a fixed answer, and only the error's name in the log. */
function lastResort(logger: Logger): ErrorRequestHandler {
  // Four parameters are how express tells an error handler; `next` is deliberately unused: express's
  // own handler would print the error, message and all, to stderr.
  return (error: unknown, _req, res, _next) => {
    logger.error({ error: error instanceof Error ? error.name : typeof error }, 'request failed outside GraphQL');
    if (res.headersSent) return void res.destroy();
    res.status(500).json({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  };
}

export interface RunningServer {
  url: string;
  httpServer: http.Server;
  metrics: Metrics;
  /** Stops accepting, lets requests in flight finish (up to the shutdown timeout), then resolves. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Turns the Authorization header into the caller, or throws UNAUTHENTICATED. */
  verify: VerifyAuthorization;
  /** Seals and opens registry passwords. */
  cipher: PasswordCipher;
  logger?: Logger;
  /** Dev mode: mints the admin token GraphiQL's page is prefilled with. */
  devToken?: () => Promise<string>;
}

type ServerConfig = Pick<Config, 'port' | 'host' | 'graphiql'> & Partial<Pick<Config, 'shutdownTimeoutMs' | 'graphql' | 'registry'>>;

/** Without registry settings (a test's own server, say) nothing talks to registries. */
const NO_REGISTRY_CHECKS: Config['registry'] = { checks: false, defaultHost: 'docker.io', recheckIntervalMs: 0, recheckBatch: 1, concurrency: 1, timeoutMs: 10_000, plainHttpHosts: new Set() };

/** Safe when the caller gives none: the defaults, introspection and suggestions as in development. */
const DEFAULT_GRAPHQL_CONFIG: Config['graphql'] = { limits: DEFAULT_QUERY_LIMITS, introspection: true, batching: false, maxBatch: 10, maxBodyBytes: 1_048_576, hideFieldSuggestions: false, execution: 'jit' };

/**
 * Apollo's express integration answers with res.send(string), and express turns a string of 1,000
 * characters or more into a Buffer before writing it (to hash an ETag, which is off here): a copy
 * of every page of images. Node writes the string as it is. Apollo has set the status and headers
 * (Content-Type included) by then; anything else goes to express's own send.
 */
const sendStringsAsTheyAre: RequestHandler = (_req, res, next) => {
  const send = res.send;
  res.send = function sendString(this: typeof res, body?: unknown) {
    if (typeof body !== 'string' || !this.getHeader('Content-Type')) return send.call(this, body);
    this.setHeader('Content-Length', Buffer.byteLength(body));
    this.end(body);
    return this;
  };
  next();
};

/** Each operation of a batch passes the limits on its own; this bounds how many one request holds. */
function limitBatchLength(maxBatch: number): RequestHandler {
  return (req, res, next) => {
    if (!Array.isArray(req.body) || req.body.length <= maxBatch) return next();
    const message = `A batch may hold at most ${maxBatch} operations (set by GRAPHQL_MAX_BATCH); this one holds ${req.body.length}`;
    (res.locals.observation as Observation).errorCodes.push('BAD_REQUEST');
    res.status(400).json({ errors: [{ message, extensions: { code: 'BAD_REQUEST', limit: 'maxBatch', max: maxBatch, found: req.body.length } }] });
  };
}

/**
 * Apollo behind express: GraphQL at /graphql (GraphiQL there for browsers), /healthz, /readyz and
 * /metrics. Used by main.ts and by the tests.
 */
export async function createServer(config: ServerConfig, dataSource: DataSource, options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? createLogger('silent');
  const metrics = new Metrics({
    poolStats: () => poolStats(dataSource),
    statements: () => sqlLogger(dataSource).queryCount,
    transactionRetries: () => transactionRetries(dataSource),
    hosts: () => hostPool(dataSource)?.status() ?? [],
  });
  const app = express();
  app.disable('x-powered-by');
  // express would hash every response body for an ETag; GraphQL POST answers are never revalidated.
  app.set('etag', false);
  const httpServer = http.createServer(app);
  let stopping = false;
  const graphql = config.graphql ?? DEFAULT_GRAPHQL_CONFIG;
  const formatError = createFormatError((message) => logger.error(message));
  const schema = buildSchema();
  const checker = new AvailabilityChecker(dataSource, options.cipher, config.registry ?? NO_REGISTRY_CHECKS, logger, metrics);
  const apollo = new ApolloServer<Context>({
    ...(graphql.execution === 'jit' ? { gateway: jitGateway(schema, () => metrics.compiledOperations.inc()) } : { schema }),
    formatError: (formatted, error) => formatQueryLimitError(formatted, graphql.limits) ?? formatError(formatted, error),
    includeStacktraceInErrorResponses: false,
    introspection: graphql.introspection,
    allowBatchedHttpRequests: graphql.batching,
    // Apollo's default, stated because the service relies on it: no simple (CORS-free) requests.
    csrfPrevention: true,
    parseOptions: { maxTokens: graphql.limits.maxTokens },
    validationRules: queryLimitRules(graphql.limits),
    // main.ts owns shutdown: Apollo's own handler would re-raise the signal and exit with 143.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs ?? 10_000 }),
      // The default landing page loads Apollo Sandbox from a CDN; our own GraphiQL replaces it.
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      // On by default, it wraps every resolver of the schema to read @cacheControl hints, which this
      // service never sets; without it the list benchmark went from 127 to 185 req/s.
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin<Context>(),
      observationPlugin<Context>(),
      queryCostPlugin<Context>(graphql.limits.maxCost),
      ...(graphql.hideFieldSuggestions ? [hideFieldSuggestionsPlugin()] : []),
    ],
  });
  await apollo.start();

  app.use(healthRoutes(dataSource, metrics, () => stopping));
  if (config.graphiql) app.use(graphiqlRoutes({ endpoint: '/graphql', devToken: options.devToken }));
  app.use(
    '/graphql',
    observeRequests(logger, metrics),
    express.json({ limit: graphql.maxBodyBytes }),
    rejectUnreadableBody(graphql.maxBodyBytes),
    limitBatchLength(graphql.maxBatch),
    sendStringsAsTheyAre,
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const observation = res.locals.observation as Observation;
        try {
          return createContext(dataSource, await options.verify(req.headers.authorization), options.cipher, observation, checker);
        } catch (error) {
          // Refused before GraphQL runs, so the Apollo plugin never sees it.
          observation.errorCodes.push(String((error as { extensions?: { code?: unknown } }).extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          throw error;
        }
      },
    }),
  );
  app.use(lastResort(logger));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, resolve);
  });
  checker.start();
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return {
    url: `http://${host}:${port}/graphql`,
    httpServer,
    metrics,
    stop: async () => {
      stopping = true;
      await apollo.stop();
      await checker.stop();
    },
  };
}
