import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { mintToken } from '../auth/tokens';
import { ConfigError, loadConfig } from '../config';
import { resolveKeys } from '../keys';

const USAGE = `usage: npm run token -- [--admin] [--group NAME ...] [--group-admin NAME ...] [--secret-reader] [--sub SUBJECT] [--expires 12h]
Mints a token signed with the dev-mode secret (or AUTH_JWT_SECRET) and prints it.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      admin: { type: 'boolean', default: false },
      group: { type: 'string', multiple: true, default: [] },
      'group-admin': { type: 'string', multiple: true, default: [] },
      'secret-reader': { type: 'boolean', default: false },
      sub: { type: 'string' },
      expires: { type: 'string', default: '12h' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  const { signingSecret } = resolveKeys(config);
  if (!signingSecret) throw new ConfigError('AUTH_JWKS_URL is set: tokens come from your identity provider, not from here');
  const groups = values.group ?? [];
  const groupAdmin = values['group-admin'] ?? [];
  const sub = values.sub ?? (values.admin ? 'dev-admin' : groupAdmin.length > 0 ? `dev-group-admin-${groupAdmin[0]}` : `dev-member-${groups[0] ?? 'nobody'}`);
  const token = await mintToken(signingSecret, config.auth, {
    sub,
    admin: values.admin,
    secretReader: values['secret-reader'],
    groups,
    groupAdmin,
    expiresIn: values.expires,
  });
  console.log(token);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`token: ${message}\n${USAGE}`);
  process.exit(1);
});
