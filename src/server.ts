import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { DataSource } from 'typeorm';
import type { Config } from './config';
import { Context, createContext } from './context';
import { createFormatError } from './errors';
import { buildSchema } from './schema';
import { graphiqlRoutes } from './graphiql/graphiql.routes';
import type { VerifyAuthorization } from './auth/token-verifier';
import type { PasswordCipher } from './pull-secrets/password-cipher';

export interface RunningServer {
  url: string;
  httpServer: http.Server;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Turns the Authorization header into the caller, or throws UNAUTHENTICATED. */
  verify: VerifyAuthorization;
  /** Seals and opens registry passwords. */
  cipher: PasswordCipher;
  logError?: (message: string) => void;
  /** Dev mode: mints the admin token GraphiQL's page is prefilled with. */
  devToken?: () => Promise<string>;
}

/** Apollo behind express: GraphQL at /graphql. Used by main.ts and by the tests. */
export async function createServer(config: Pick<Config, 'port' | 'host' | 'graphiql'>, dataSource: DataSource, options: ServerOptions): Promise<RunningServer> {
  const app = express();
  const httpServer = http.createServer(app);
  const apollo = new ApolloServer<Context>({
    schema: buildSchema(),
    formatError: createFormatError(options.logError),
    includeStacktraceInErrorResponses: false,
    introspection: true,
    // main.ts owns shutdown: Apollo's own handler would re-raise the signal and exit with 143.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // The default landing page loads Apollo Sandbox from a CDN; our own GraphiQL replaces it.
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
    ],
  });
  await apollo.start();

  if (config.graphiql) app.use(graphiqlRoutes({ endpoint: '/graphql', devToken: options.devToken }));
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => createContext(dataSource, await options.verify(req.headers.authorization), options.cipher),
    }),
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return {
    url: `http://${host}:${port}/graphql`,
    httpServer,
    stop: () => apollo.stop(),
  };
}
