import type { ApolloServerPlugin } from '@apollo/server';

/**
 * `Cache-Control: no-store` on every GraphQL answer. Apollo's cache-control plugin used to send it
 * (it is off: it wrapped every resolver); answers hold callers' data, registry passwords among
 * them for secret readers, and no proxy or browser cache may keep them.
 */
export function noStorePlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          response.http.headers.set('cache-control', 'no-store');
        },
      };
    },
  };
}
