import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from '../context';

/** graphql-js's hint in validation errors: `Did you mean "name"?`, `Did you mean the enum value "GPU"?`. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * Drops graphql-js's "Did you mean ..." hints for callers who are not admins: with introspection
 * off they would map the schema one typo at a time. Admins, who may see the schema anyway, keep
 * them. Errors are changed where Apollo collected them, before they are formatted.
 */
export function hideFieldSuggestionsPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          if (contextValue.access.isAdmin) return;
          for (const error of errors) {
            // Variable errors are rebuilt from their parts by errors.ts, hints left out for everyone;
            // an edited message would no longer match those parts.
            if (error.message.startsWith('Variable "$')) continue;
            if (error.message.includes('Did you mean')) {
              (error as { message: string }).message = error.message.replace(SUGGESTION, '').trimEnd();
            }
          }
        },
      };
    },
  };
}
