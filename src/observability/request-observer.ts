import { randomUUID } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import type { Logger } from './logger';
import type { Metrics } from './metrics';

/** What one GraphQL request did, filled in as it goes and written out when the response is sent. */
export interface Observation {
  requestId: string;
  /** Set once GraphQL has resolved the operation (named or not). */
  resolved?: boolean;
  /** The resolved operation's name. */
  operation?: string;
  sub?: string;
  errorCodes: string[];
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

const MAX_LOGGED_OPERATION_NAME = 100;

/**
 * One log line and one metrics sample per request, written when the connection is done with it:
 * so a request refused before GraphQL runs (no token, a body that is not JSON) is counted too, and
 * one whose caller went away first is counted as aborted. Only the operation name, the outcome and
 * the caller's sub are written; never variables or headers.
 */
export function observeRequests(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const given = req.get('x-request-id');
    const observation: Observation = { requestId: given && REQUEST_ID.test(given) ? given : randomUUID(), errorCodes: [] };
    res.locals.observation = observation;
    res.set('x-request-id', observation.requestId);
    res.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // A name the caller merely sent may be anything: it is logged shortened, and only reuses a
      // metrics label that a resolved operation created, so unauthenticated callers cannot mint them.
      const resolved = observation.resolved === true;
      const guessed = resolved ? undefined : operationNameOf(req.body)?.slice(0, MAX_LOGGED_OPERATION_NAME);
      const operation = observation.operation ?? guessed ?? 'anonymous';
      // The connection closed before the whole answer was written: the caller left, or shutdown
      // cut the request off.
      const outcome = !res.writableFinished ? 'aborted' : observation.errorCodes.length === 0 && res.statusCode < 400 ? 'success' : 'error';
      metrics.record(operation, outcome, seconds, observation.errorCodes, resolved);
      logger.info(
        {
          reqId: observation.requestId,
          operation,
          outcome,
          status: res.statusCode,
          durationMs: Math.round(seconds * 10_000) / 10,
          sub: observation.sub,
          ...(observation.errorCodes.length > 0 ? { errors: observation.errorCodes } : {}),
        },
        'graphql request',
      );
    });
    next();
  };
}

/**
 * For requests GraphQL never parsed (refused for want of a token): the operationName given, or
 * the first operation's name in the document.
 */
function operationNameOf(body: unknown): string | undefined {
  const { operationName, query } = (body ?? {}) as { operationName?: unknown; query?: unknown };
  if (typeof operationName === 'string' && operationName) return operationName;
  if (typeof query !== 'string') return undefined;
  return /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(query.slice(0, 10_000))?.[1];
}

/** Tells the observation the operation's name and the codes of the errors sent back. */
export function observationPlugin<C extends { observation: Observation }>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operationName, contextValue }) {
          contextValue.observation.resolved = true;
          if (operationName) contextValue.observation.operation = operationName;
        },
        async willSendResponse({ response, contextValue }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          for (const error of errors ?? []) contextValue.observation.errorCodes.push(String(error.extensions?.code ?? 'UNKNOWN'));
        },
      };
    },
  };
}
