import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { createImage } from './helpers/factories';
import { startTestApp, TestApp } from './helpers/test-app';

// Debian's Chromium; .ci/run installs it. Without it (a laptop) the test is skipped, in CI it must run.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') throw new Error(`CI needs ${CHROMIUM} for the GraphiQL browser test`);
const ARTIFACTS = join(__dirname, '..', 'test-artifacts');

(available ? describe : describe.skip)('GraphiQL in a real browser', () => {
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startTestApp({ graphiqlDevToken: true });
    await createImage(app, { name: 'seen-in-graphiql', global: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('runs a query with the prefilled dev token, shows the result, and loads nothing from elsewhere', async () => {
    const page = await browser.newPage();
    const origin = new URL(app.url).origin;
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });

    await page.goto(app.url);
    await page.locator('.graphiql-execute-button').click({ timeout: 20_000 });
    const result = page.locator('.result-window');
    await result.getByText('seen-in-graphiql').first().waitFor({ timeout: 20_000 });
    expect(await result.innerText()).toContain('"totalCount": 1');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'graphiql.png'), fullPage: true });

    const external = requests.filter((url) => !url.startsWith(origin) && !url.startsWith('data:'));
    expect(external).toEqual([]);
    expect(requests).toContain(app.url);
    expect(problems).toEqual([]);
  }, 60_000);
});
