import { GraphQLError } from 'graphql';
import { createFormatError } from '../src/errors';
import { createGroup, uniqueName } from './helpers/factories';
import { CREATE_IMAGE } from './helpers/operations';
import { startTestApp, TestApp } from './helpers/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

describe('concurrent creates', () => {
  it('let exactly one of many simultaneous creates with one name win; the rest get CONFLICT', async () => {
    const name = uniqueName('race');
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => app.request(CREATE_IMAGE, { input: { name, url: 'busybox' } })),
    );
    const winners = responses.filter((r) => !r.errors);
    const codes = responses.filter((r) => r.errors).map((r) => r.errors?.[0].extensions?.code);
    expect(winners).toHaveLength(1);
    expect(codes).toEqual(Array(11).fill('CONFLICT'));
    expect(await app.rowCount('images', 'name = ?', [name])).toBe(1);
  });
});

describe('unexpected failures', () => {
  // Runs last in this file: it breaks the schema on purpose.
  it('roll back a half-done mutation and reach the client masked, with the detail only in the server log', async () => {
    const group = await createGroup(app);
    await app.dataSource.query('DROP TABLE image_group_links');
    const name = uniqueName('atomic');
    const response = await app.request(CREATE_IMAGE, { input: { name, url: 'busybox', groupIds: [group.id] } });
    expect(response.errors?.[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(response.text).not.toMatch(/image_group_links|SELECT|INSERT|SQLITE|ER_NO_SUCH_TABLE|no such table|QueryFailed|stacktrace|\.ts:\d+/i);
    // The image row was inserted before the link insert failed; the transaction must have undone it.
    expect(await app.rowCount('images', 'name = ?', [name])).toBe(0);
    expect(app.serverErrors.join('\n')).toMatch(/image_group_links/);
  });
});

describe('formatting errors nobody raised on purpose', () => {
  it("masks graphql-js's own execution errors (Apollo codes them INTERNAL_SERVER_ERROR) and logs them", () => {
    const logged: string[] = [];
    const format = createFormatError((message) => logged.push(message));
    const original = new GraphQLError('Runtime Object type "ImagePullSecretEdge" is not a possible type for "_Entity".');
    const formatted = format({ message: original.message, path: ['_entities', 0], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, original);
    expect(formatted).toEqual({ message: 'Internal server error', path: ['_entities', 0], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(logged).toEqual([expect.stringContaining('ImagePullSecretEdge')]);
  });
});

describe('a required variable that is missing or null', () => {
  it('is BAD_USER_INPUT naming the variable as the field', async () => {
    const app = await startTestApp();
    try {
      for (const variables of [{}, { input: null }]) {
        const error = await app.fails(CREATE_IMAGE, variables);
        expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'input', message: expect.stringMatching(/^Variable "\$input" of (required|non-null) type "CreateImageInput!"/) }] });
      }
    } finally {
      await app.close();
    }
  });
});
