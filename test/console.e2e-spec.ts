import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../src/testing/poll-until.js';
import { CONSOLE_CSP } from '../src/web-console/web-console.headers.js';
import { root, startService, type RunningService } from './support/service-process.js';
import { makeDataDir } from './support/test-app.js';

/**
 * The web console in a real browser: headless Chromium (playwright-core)
 * against the built service (dist/main.js serving dist/console), on SQLite in
 * a temp data folder, signed in with the tokens its first start generated.
 * One story, step by step, each step on the page the one before left: sign
 * in; plan (a rejected list, then a good one); approve as a second person;
 * execute and continue wave by wave, the last wave continued from outside the
 * browser to see the page follow live; restore a site by hand; roll back after
 * a dry run; a site's timeline, state at a past moment, diff and revert; the
 * fleet chart and the fleet as of a moment; the audit's filters, paging and
 * exports; a refused token mid-session. Every page must run under the
 * console's CSP with no violation and no console error beyond the refusals
 * the story provokes. Screenshots of each page go to test/artifacts/console/.
 */

/** Debian's Chromium (CI installs it: .ci/run); CHROMIUM_PATH names another. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = join(root, 'test', 'artifacts', 'console');
const TOKEN_KEY = 'tenant-ledger.console.token';
const STEP = 60_000;

type Principal = 'admin' | 'operator' | 'approver' | 'viewer';

/** What a page said it should not: console errors, uncaught errors, CSP violations. */
interface Complaint {
  kind: 'console' | 'pageerror';
  text: string;
  url: string;
}

/**
 * The refusals this story provokes on purpose: Chromium logs "Failed to load
 * resource" for each 4xx a fetch receives. Anything else logged as an error fails the run.
 */
const PROVOKED: { status: number; path: RegExp }[] = [
  { status: 401, path: /\/v1\/stats$/ }, // a wrong token at sign-in, and one refused mid-session
  { status: 401, path: /\/v1\/(sites|audit\/events)\?/ }, // the refused token's first calls on the fleet page
  { status: 422, path: /\/v1\/operations$/ }, // the plan with an installation ID
  { status: 403, path: /\/v1\/operations\/op_[^/]+\/approve$/ }, // the requester trying to approve
];

describe('the web console in Chromium', () => {
  let dataDir: string;
  let service: RunningService;
  let browser: Browser | undefined;
  let page: Page;
  let tokens: Record<Principal, string>;
  const complaints: Complaint[] = [];
  /** What the story learns on the way. */
  const story = {
    operationId: '',
    digest: '',
    /** The fleet just after wave 3: seven sites deleted. */
    afterWave3: '',
  };

  async function api(principal: Principal, method: string, path: string, body?: unknown, headers = {}) {
    const response = await fetch(`${service.base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${tokens[principal]}`, 'Content-Type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text}`);
    return json;
  }

  async function shoot(name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  async function signIn(principal: Principal | string): Promise<void> {
    const token = principal in tokens ? tokens[principal as Principal] : principal;
    await page.getByLabel('Bearer token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function signOut(): Promise<void> {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByLabel('Bearer token')).toBeVisibleSoon();
  }

  const wave = (index: number): Locator => page.locator(`tr[data-wave="${index}"]`);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no Chromium at ${CHROMIUM}: this test drives a real browser; install it (apt-get install chromium, as .ci/run does) or set CHROMIUM_PATH`,
      );
    if (!existsSync(join(root, 'dist', 'console', 'index.html')))
      throw new Error('dist/console/index.html is missing: `npm run build` builds the console (npm test builds first)');
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });

    dataDir = makeDataDir();
    // Canary waves of 2: one internal site, then 2, 4 and 1 customer sites, so four waves.
    service = await startService({ LEDGER_DATA_DIR: dataDir, LEDGER_CANARY_SITES: '2' });
    const listing = readFileSync(join(dataDir, 'initial-tokens.txt'), 'utf8');
    tokens = Object.fromEntries(
      [...listing.matchAll(/^(admin|operator|approver|viewer)\s+(\S+)/gm)].map((match) => [match[1], match[2]]),
    ) as Record<Principal, string>;
    expect(Object.keys(tokens).sort()).toEqual(['admin', 'approver', 'operator', 'viewer']);

    const register = (siteId: string, extra: Record<string, unknown> = {}) =>
      api('operator', 'POST', '/v1/sites', { siteId, customerId: `cust-${siteId}`, name: `Shop ${siteId}`, ...extra });
    await register('int-1', { customerId: 'provider', name: 'Our staging shop', internal: true });
    for (let i = 1; i <= 7; i++) await register(`c-0${i}`);
    // A site with a history to travel through: registered, suspended (INC-7), a product added, reactivated.
    await register('hist-1', {
      region: 'eu-west',
      products: [{ installationId: 'inst-h1', productKey: 'webshop' }],
      contacts: [{ name: 'Kim Lee', email: 'kim@example.com', role: 'owner' }],
    });
    await api(
      'operator',
      'POST',
      '/v1/sites/hist-1/suspend',
      { reason: 'unpaid invoice INV-9' },
      {
        'X-Correlation-Id': 'INC-7',
      },
    );
    await api('operator', 'POST', '/v1/sites/hist-1/products', { installationId: 'inst-h2', productKey: 'blog' });
    await api('operator', 'POST', '/v1/sites/hist-1/reactivate', { reason: 'invoice paid' });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    // Runs before the page's own scripts, outside its CSP: every violation the page causes is reported.
    await context.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (event) =>
        console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || '(inline)'}`),
      ),
    );
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        complaints.push({ kind: 'console', text: message.text(), url: message.location().url });
    });
    page.on('pageerror', (error) => complaints.push({ kind: 'pageerror', text: String(error), url: page.url() }));
  }, STEP);

  afterAll(async () => {
    await browser?.close();
    await service?.kill();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'serves /console with its CSP, and a built page with no inline script or style',
    async () => {
      const redirect = await fetch(`${service.base}/console`, { redirect: 'manual' });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.get('location')).toBe('/console/');

      const index = await fetch(`${service.base}/console/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(index.headers.get('x-frame-options')).toBe('DENY');
      expect(index.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await index.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i); // every script is a file
      expect(html).not.toMatch(/\sstyle\s*=|<style/i);
      expect(html).not.toMatch(/\son[a-z]+\s*=/i); // no inline event handler
      const urls = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
      expect(urls.length).toBeGreaterThanOrEqual(3);
      for (const url of urls) expect(url).toMatch(/^\/console\//); // nothing from another origin

      const script = urls.find((url) => url.endsWith('.js'))!;
      const asset = await fetch(`${service.base}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/javascript/);
      expect(asset.headers.get('cache-control')).toContain('immutable');
      const missing = await fetch(`${service.base}/console/assets/nope.js`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);

      // The API is as it was: the console adds no route to the document, and /v1 still wants a token.
      const document = (await (await fetch(`${service.base}/docs-json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(document.paths).filter((path) => path.includes('console'))).toEqual([]);
      expect((await fetch(`${service.base}/v1/stats`)).status).toBe(401);
      expect((await fetch(`${service.base}/health`)).status).toBe(200);
    },
    STEP,
  );

  it(
    'signs in with a token from data/initial-tokens.txt, refusing a wrong one with the problem’s words',
    async () => {
      const response = await page.goto(`${service.base}/console`);
      expect(page.url()).toBe(`${service.base}/console/`);
      expect(response?.headers()['content-security-policy']).toBe(CONSOLE_CSP);
      await signIn('tl_not-a-token');
      const problem = page.getByRole('alert');
      await expect(problem).toContainTextSoon('Unauthorized');
      await expect(problem).toContainTextSoon('auth.unauthenticated');
      await expect(problem).toContainTextSoon('the bearer token is not valid');
      await shoot('sign-in');
      await signIn('operator');
      await expect(page.getByRole('heading', { name: 'Operations', exact: true })).toBeVisibleSoon();
      expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBe(tokens.operator);
      expect(await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY)).toBeNull();
    },
    STEP,
  );

  it(
    'plans in the page: a list holding an installation ID is rejected as a whole, a good one is planned',
    async () => {
      await page.getByText('Plan a soft delete').click();
      await page.getByLabel('Site IDs').fill('inst-h1\nc-01');
      await page.getByLabel('Reason (recorded)').fill('churned customers');
      await page.getByLabel('Ticket (optional)').fill('OPS-4711');
      await page.getByRole('button', { name: 'Plan deletion of 2 sites' }).click();
      const rejected = page.getByRole('alert');
      await expect(rejected).toContainTextSoon('operation.rejected');
      await expect(rejected.getByRole('row', { name: /inst-h1 not-a-site/ })).toBeVisibleSoon();
      await expect(rejected).toContainTextSoon('Recorded as op_');
      await expect(page.getByRole('table', { name: 'Operations' })).toContainTextSoon('rejected');
      await shoot('operations');

      const ids = ['int-1', 'c-01', 'c-02', 'c-03', 'c-04', 'c-05', 'c-06', 'c-07'];
      await page.getByLabel('Site IDs').fill(ids.join(' '));
      await page.getByRole('button', { name: 'Plan deletion of 8 sites' }).click();
      await page.waitForURL(/#\/operations\/op_/);
      story.operationId = decodeURIComponent(page.url().split('#/operations/')[1]!);
      const planned = await api('viewer', 'GET', `/v1/operations/${story.operationId}`);
      story.digest = String(planned['digest']);
      await expect(page.locator('.status-line')).toContainTextSoon('planned');
      await expect(page.locator('#digest')).toHaveTextSoon(story.digest);
      await expect(page.locator('#approval-count')).toHaveTextSoon('0 of 1');
      await expect(page.locator('#summary-sites')).toHaveTextSoon('8');
      await expect(page.locator('tr[data-wave]')).toHaveCountSoon(4);
      await expect(wave(1)).toContainTextSoon('internal');
      await expect(wave(2)).toContainTextSoon('canary');

      // The requester is no approver: the API's 403, shown as its problem.
      await page.getByRole('button', { name: 'Approve plan' }).click();
      const forbidden = page.getByRole('alert');
      await expect(forbidden).toContainTextSoon('Forbidden');
      await expect(forbidden).toContainTextSoon('auth.forbidden');
      await expect(forbidden).toContainTextSoon('this needs the approver role');
    },
    STEP,
  );

  it(
    'a second person approves it with the digest shown (sign out, sign in as the approver)',
    async () => {
      await signOut();
      await signIn('approver');
      // Back on the page the link names.
      await expect(page.locator('#digest')).toHaveTextSoon(story.digest);
      await page.getByRole('button', { name: 'Approve plan' }).click();
      await expect(page.locator('#approval-count')).toContainTextSoon('1 of 1');
      await expect(page.locator('.status-line')).toContainTextSoon('approved');
      const approved = await api('viewer', 'GET', `/v1/operations/${story.operationId}`);
      expect(approved['approvals']).toMatchObject([{ approvedBy: 'approver' }]);
      await signOut();
      await signIn('operator');
      await expect(page.getByRole('button', { name: 'Execute' })).toBeVisibleSoon();
    },
    STEP,
  );

  it(
    'executes and continues wave by wave, the waves’ progress updating live (the last continued from outside)',
    async () => {
      await expect(page.locator('.live')).toHaveAttributeSoon('data-state', 'live');
      await page.getByRole('button', { name: 'Execute' }).click();
      await expect(wave(1)).toHaveAttributeSoon('data-status', 'completed');
      await expect(page.locator('.status-line')).toContainTextSoon('paused');
      await expect(wave(1).locator('.wave-count')).toHaveTextSoon('1 / 1');
      const feed = page.getByRole('list', { name: 'Live events' });
      await expect(feed).toContainTextSoon('OperationExecutionStarted');
      await expect(feed).toContainTextSoon('SiteSoftDeleted site-int-1');

      await page.getByRole('button', { name: 'Continue with wave 2' }).click();
      await expect(wave(2)).toHaveAttributeSoon('data-status', 'completed');
      await expect(wave(2).locator('.wave-count')).toHaveTextSoon('2 / 2');
      await expect(page.locator('.status-line')).toContainTextSoon('paused');

      // Meanwhile c-07 (wave 4) is protected: its wave will skip it and say why.
      await api('operator', 'PUT', '/v1/sites/c-07/deletion-protection', { enabled: true, reason: 'VIP customer' });

      await page.getByRole('button', { name: 'Continue with wave 3' }).click();
      await expect(wave(3)).toHaveAttributeSoon('data-status', 'completed');
      await expect(wave(3).locator('.wave-count')).toHaveTextSoon('4 / 4');
      await expect(page.locator('#progress-text')).toHaveTextSoon('7 deleted, 0 skipped, 0 restored of 8 sites');
      const paused = await api('viewer', 'GET', `/v1/operations/${story.operationId}`);
      story.afterWave3 = String((paused['waves'] as { endedAt: string }[])[2]!.endedAt);
      await shoot('operation-paused');

      // Wave 4 is continued by someone else, over HTTP: the page follows the stream, with no click and no reload.
      await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
      await api('operator', 'POST', `/v1/operations/${story.operationId}/continue`, {});
      await expect(wave(4)).toHaveAttributeSoon('data-status', 'completed');
      await expect(page.locator('.status-line')).toContainTextSoon('completed');
      await expect(wave(4)).toContainTextSoon('c-07 site.deletion-protected');
      await expect(page.getByRole('table', { name: 'Skipped sites' })).toContainTextSoon('site.deletion-protected');
      await expect(feed).toContainTextSoon('OperationCompleted');
      expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
      await shoot('operation');
    },
    STEP,
  );

  it(
    'restores one site by hand on its page, with a reason',
    async () => {
      await page.getByLabel('Site', { exact: true }).fill('c-01');
      await page.getByRole('button', { name: 'Open' }).click();
      await expect(page.getByRole('heading', { name: /Site c-01/ })).toContainTextSoon('deleted');
      await page.getByLabel('Reason (recorded)').fill('customer came back');
      await page.getByRole('button', { name: 'Restore site' }).click();
      await expect(page.getByRole('heading', { name: /Site c-01/ })).toContainTextSoon('active');
      await expect(page.getByRole('list', { name: 'Timeline' }).locator('.event-type')).toHaveTextSoon([
        'SiteRegistered',
        'SiteSoftDeleted',
        'SiteRestored',
      ]);
      expect((await api('viewer', 'GET', '/v1/sites/c-01'))['status']).toBe('active');
    },
    STEP,
  );

  it(
    'rolls the operation back: a dry-run preview first, nothing restored until confirmed',
    async () => {
      await page.goto(`${service.base}/console/#/operations/${story.operationId}`);
      await expect(page.locator('.status-line')).toContainTextSoon('completed');
      await page.getByLabel('Correlation id').fill('INC-7');
      await page.getByLabel(/Reason to roll back/).fill('INC-7: wrong list');
      await page.getByRole('button', { name: 'Preview rollback (dry run)' }).click();
      const preview = page.getByRole('region', { name: 'Rollback preview' });
      await expect(preview).toContainTextSoon('would restore 6 sites');
      await expect(preview).toContainTextSoon('c-01');
      await expect(preview).toContainTextSoon('It would skip: c-01');
      // A dry run: nothing changed.
      expect((await api('viewer', 'GET', '/v1/sites/int-1'))['status']).toBe('deleted');
      await shoot('operation-rollback-preview');

      await page.getByRole('button', { name: 'Confirm rollback of 6 sites' }).click();
      await expect(page.locator('#rollback-result')).toHaveTextSoon('Rolled back: restored 6, skipped 1.');
      await expect(page.locator('.status-line')).toContainTextSoon('rolled-back');
      // The restore by hand is not the rollback's: it restored six.
      await expect(page.locator('#progress-text')).toHaveTextSoon('7 deleted, 1 skipped, 6 restored of 8 sites');
      for (const siteId of ['int-1', 'c-02', 'c-06'])
        expect((await api('viewer', 'GET', `/v1/sites/${siteId}`))['status']).toBe('active');
    },
    STEP,
  );

  it(
    'a site’s timeline, its state at a past moment on the slider, the diff of two moments, and a revert',
    async () => {
      const history = (await api('viewer', 'GET', '/v1/sites/hist-1/history'))['events'] as {
        type: string;
        occurredAt: string;
      }[];
      expect(history.map((event) => event.type)).toEqual([
        'SiteRegistered',
        'SiteSuspended',
        'SiteProductAdded',
        'SiteReactivated',
      ]);
      await page.goto(`${service.base}/console/#/sites/hist-1`);
      const timeline = page.getByRole('list', { name: 'Timeline' });
      await expect(timeline.locator('li')).toHaveCountSoon(4);
      const suspension = timeline.locator('li').nth(1);
      await expect(suspension).toContainTextSoon('SiteSuspended by operator');
      await expect(suspension).toContainTextSoon('unpaid invoice INV-9');
      await expect(suspension).toContainTextSoon('INC-7');

      // Now: active, version 4. Home: the registration (version 1); → : the next change, the suspension.
      await expect(page.locator('#state-version')).toHaveTextSoon('4');
      const slider = page.getByLabel(/Moment in the site’s lifetime/);
      await slider.focus();
      await page.keyboard.press('Home');
      await expect(page.locator('#moment-value')).toHaveTextSoon(history[0]!.occurredAt);
      await expect(page.locator('#state-version')).toHaveTextSoon('1');
      await expect(page.locator('#state-status')).toHaveTextSoon('active');
      await page.keyboard.press('ArrowRight');
      await expect(page.locator('#moment-value')).toHaveTextSoon(history[1]!.occurredAt);
      await expect(page.locator('#state-version')).toHaveTextSoon('2');
      await expect(page.locator('#state-status')).toHaveTextSoon('suspended');
      await expect(timeline.locator('li[aria-current="step"]')).toContainTextSoon('SiteSuspended');

      // A = the registration (the default), B = the slider's moment: field by field.
      await page.getByRole('button', { name: 'B = slider moment' }).click();
      await expect(page.getByLabel(/Moment B/)).toHaveValueSoon(history[1]!.occurredAt);
      const diff = page.getByRole('table', { name: 'Differences between A and B' });
      await expect(diff.locator('tr[data-field="status"] td')).toHaveTextSoon(['active', 'suspended']);
      await expect(diff.locator('tr[data-field="version"] td')).toHaveTextSoon(['1', '2']);
      await expect(diff.locator('tr[data-field="products"]')).toHaveCountSoon(0); // unchanged until v3
      await shoot('site');

      // Revert to that moment: a dry run lists the compensating events; confirming records them.
      await page.getByLabel('Reason (recorded)').fill('undo the reactivation');
      await page.getByRole('button', { name: 'Preview revert (dry run)' }).click();
      const preview = page.getByRole('region', { name: 'Revert preview' });
      await expect(preview).toContainTextSoon('SiteProductRemoved');
      await expect(preview).toContainTextSoon('SiteSuspended');
      expect((await api('viewer', 'GET', '/v1/sites/hist-1'))['version']).toBe(4);
      await preview.getByRole('button', { name: /Confirm revert/ }).click();
      await expect(page.getByRole('heading', { name: /Site hist-1/ })).toContainTextSoon('suspended');
      await expect(timeline.locator('li')).toHaveCountSoon(6);
      expect(await api('viewer', 'GET', '/v1/sites/hist-1')).toMatchObject({
        status: 'suspended',
        products: [{ installationId: 'inst-h1' }],
      });
    },
    STEP,
  );

  it(
    'the fleet page: counts by status over time as a chart, and the sites as they were at a moment',
    async () => {
      await page.getByRole('link', { name: 'Fleet' }).click();
      const chart = page.locator('svg#fleet-chart');
      await expect(chart.locator('path[data-status]')).toHaveCountSoon(4);
      for (const status of ['active', 'suspended', 'deleted', 'purged'])
        expect(await chart.locator(`path[data-status="${status}"]`).getAttribute('d')).toMatch(/^M [\d.]+ [\d.]+ L/);
      await page.getByText('The figures (counts at each sampled moment)').click();
      const figures = page.getByRole('table', { name: 'Counts by status at each sampled moment' });
      await expect(figures.locator('tbody tr')).toHaveCountSoon(24);
      // The last sample is now: nine sites, hist-1 suspended, every other one active again.
      await expect(figures.locator('tbody tr').last().locator('td')).toHaveTextSoon([
        expect.stringMatching(/Z$/),
        '8',
        '1',
        '0',
        '0',
        '9',
        'List as of this moment',
      ]);

      // As of the end of wave 3: seven deleted.
      await page.getByLabel(/As of/).fill(story.afterWave3);
      await page.getByRole('button', { name: 'Show' }).click();
      await expect(page.locator('#fleet-as-of-shown')).toContainTextSoon(`As of ${story.afterWave3}: 9 sites`);
      await expect(page.locator('#fleet-as-of-shown')).toContainTextSoon('2 active, 0 suspended, 7 deleted, 0 purged');
      await expect(page.locator('tr[data-site="c-03"] .site-status')).toHaveTextSoon('deleted');
      await expect(page.locator('tr[data-site="c-07"] .site-status')).toHaveTextSoon('active');
      await page.getByLabel('Status', { exact: true }).selectOption('deleted');
      await page.getByRole('button', { name: 'Show' }).click();
      await expect(page.getByRole('table', { name: 'Sites' }).locator('tbody tr')).toHaveCountSoon(7);
      // A click on the chart lists the fleet at the nearest sampled moment.
      await page.getByLabel('Status', { exact: true }).selectOption('');
      await chart.click({ position: { x: 300, y: 100 } });
      await expect(page.getByLabel(/As of/)).toHaveValueSoon(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      await expect(chart.locator('line.selected')).toHaveCountSoon(1);
      await page.getByLabel(/As of/).fill(story.afterWave3);
      await page.getByRole('button', { name: 'Show' }).click();
      await expect(page.locator('#fleet-as-of-shown')).toContainTextSoon('7 deleted');
      await page.getByText('The figures (counts at each sampled moment)').click(); // folded again, for a shorter picture
      await shoot('fleet');
    },
    STEP,
  );

  it(
    'the audit page: filters, paging with nextCursor, and NDJSON and CSV exports fetched with the token',
    async () => {
      await page.getByRole('link', { name: 'Audit' }).click();
      const rows = page.getByRole('table', { name: 'Audit events' }).locator('tbody tr');
      await page.getByLabel('Actor').fill('approver');
      await page.getByRole('button', { name: 'Search' }).click();
      await expect(rows).toHaveCountSoon(1);
      await expect(rows.first()).toHaveAttributeSoon('data-type', 'OperationApproved');

      await page.getByLabel('Actor').fill('');
      await page.getByLabel('Correlation id').fill('INC-7');
      await page.getByRole('button', { name: 'Search' }).click();
      // The suspension sent with X-Correlation-Id: INC-7, and the rollback's six restores.
      await expect(rows).toHaveCountSoon(8);
      await expect(rows.first()).toHaveAttributeSoon('data-type', 'SiteSuspended');
      await expect(rows.last()).toHaveAttributeSoon('data-type', 'OperationRolledBack');

      await page.getByLabel('Correlation id').fill('');
      await page.getByLabel('Operation').fill(story.operationId);
      await page.getByLabel('Types').fill('SiteSoftDeleted,SiteRestored');
      await page.getByLabel('Page size').selectOption('10');
      await page.getByRole('button', { name: 'Search' }).click();
      // Seven deletions, the restore by hand, six restores of the rollback: fourteen, ten a page.
      await expect(rows).toHaveCountSoon(10);
      await expect(page.getByRole('heading', { name: /Events/ })).toContainTextSoon('page 1');
      await page.getByRole('button', { name: 'Next page →' }).click();
      await expect(rows).toHaveCountSoon(4);
      await expect(page.getByRole('heading', { name: /Events/ })).toContainTextSoon('page 2');
      await expect(page.getByRole('button', { name: 'Next page →' })).toBeDisabledSoon();
      await expect(rows.last()).toHaveAttributeSoon('data-type', 'SiteRestored');
      await page.getByRole('button', { name: '← Previous page' }).click();
      await expect(rows).toHaveCountSoon(10);
      await expect(rows.first()).toHaveAttributeSoon('data-type', 'SiteSoftDeleted');
      await shoot('audit');

      const [csv] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export CSV' }).click(),
      ]);
      expect(csv.suggestedFilename()).toMatch(/^audit-.*\.csv$/);
      const lines = readFileSync((await csv.path())!, 'utf8')
        .trimEnd()
        .split('\n');
      expect(lines[0]).toMatch(/^position,eventId,occurredAt,type,streamId,/);
      expect(lines).toHaveLength(15); // a header and every match, not one page
      const [ndjson] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export NDJSON' }).click(),
      ]);
      const events = readFileSync((await ndjson.path())!, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; metadata: { operationId?: string } });
      expect(events).toHaveLength(14);
      expect(events.filter((event) => event.type === 'SiteSoftDeleted')).toHaveLength(7);
      expect(events.filter((event) => event.type === 'SiteRestored')).toHaveLength(7);
      await expect(page.locator('#export-status')).toContainTextSoon('.ndjson');

      // A moment after every event: nothing matches.
      await page.getByLabel('From').fill(new Date(Date.now() + 3_600_000).toISOString());
      await page.getByRole('button', { name: 'Search' }).click();
      await expect(page.getByText('No event matches.')).toBeVisibleSoon();
    },
    STEP,
  );

  it(
    'a token refused mid-session returns to sign-in with a clear message; signing in again goes back there',
    async () => {
      await page.evaluate((key) => sessionStorage.setItem(key, 'tl_revoked'), TOKEN_KEY);
      await page.getByRole('link', { name: 'Fleet' }).click();
      const notice = page.locator('#sign-in-notice');
      await expect(notice).toContainTextSoon('Signed out: the service refused the token (401 auth.unauthenticated');
      expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBeNull();
      await signIn('viewer');
      await expect(page.getByRole('heading', { name: 'Fleet', exact: true })).toBeVisibleSoon();
      await expect(page.locator('#fleet-as-of-shown')).toContainTextSoon('Now: 9 sites');
    },
    STEP,
  );

  it('the pages logged no CSP violation, no uncaught error and no console error beyond the refusals provoked', () => {
    const unexpected = complaints.filter(
      (complaint) =>
        !(
          complaint.kind === 'console' &&
          PROVOKED.some(
            ({ status, path }) =>
              complaint.text.includes(`the server responded with a status of ${status}`) &&
              path.test(complaint.url.replace(service.base, '')),
          )
        ),
    );
    expect(unexpected).toEqual([]);
    // The provoked refusals were seen, so the filter above was not blind.
    expect(complaints.some((complaint) => complaint.text.includes('status of 422'))).toBe(true);
  });
});

/*
 * Web-first assertions without @playwright/test (playwright-core has none):
 * each polls the page until it holds or 10 s pass, then fails naming what it saw.
 */
const SOON = { timeoutMs: 10_000, intervalMs: 50 };

async function eventually<T>(read: () => Promise<T>, holds: (value: T) => boolean, what: string): Promise<void> {
  await pollUntil(
    async () => {
      try {
        return { value: await read() };
      } catch (error) {
        return { error: String(error) };
      }
    },
    {
      what,
      done: (seen) => 'value' in seen && holds(seen.value as T),
      show: (seen) => ('value' in seen ? JSON.stringify(seen.value) : (seen.error ?? '')),
      ...SOON,
    },
  );
}

/** A text against a string (equal), a RegExp, or an asymmetric matcher such as expect.stringMatching. */
function matches(expected: unknown, actual: string): boolean {
  if (expected instanceof RegExp) return expected.test(actual);
  if (typeof expected === 'string') return expected === actual;
  const matcher = expected as { asymmetricMatch?: (value: unknown) => boolean } | null;
  return typeof matcher?.asymmetricMatch === 'function' && matcher.asymmetricMatch(actual);
}

expect.extend({
  async toBeVisibleSoon(locator: Locator) {
    await eventually(() => locator.isVisible(), Boolean, `${locator} to be visible`);
    return { pass: true, message: () => '' };
  },
  async toContainTextSoon(locator: Locator, text: string) {
    await eventually(
      () => locator.innerText({ timeout: 1000 }),
      (seen) => seen.replace(/\s+/g, ' ').includes(text) || seen.includes(text),
      `${locator} to contain "${text}"`,
    );
    return { pass: true, message: () => '' };
  },
  async toHaveTextSoon(locator: Locator, expected: string | RegExp | unknown[]) {
    if (Array.isArray(expected))
      await eventually(
        async () => (await locator.allInnerTexts()).map((text) => text.trim()),
        (seen) => seen.length === expected.length && seen.every((text, i) => matches(expected[i], text)),
        `${locator} to have texts ${JSON.stringify(expected)}`,
      );
    else
      await eventually(
        async () => (await locator.innerText({ timeout: 1000 })).trim(),
        (seen) => matches(expected, seen),
        `${locator} to have text ${String(expected)}`,
      );
    return { pass: true, message: () => '' };
  },
  async toHaveValueSoon(locator: Locator, expected: string | RegExp) {
    await eventually(
      () => locator.inputValue({ timeout: 1000 }),
      (seen) => matches(expected, seen),
      `${locator} to have value ${String(expected)}`,
    );
    return { pass: true, message: () => '' };
  },
  async toHaveAttributeSoon(locator: Locator, name: string, value: string) {
    await eventually(
      () => locator.getAttribute(name, { timeout: 1000 }),
      (seen) => seen === value,
      `${locator} to have ${name}="${value}"`,
    );
    return { pass: true, message: () => '' };
  },
  async toHaveCountSoon(locator: Locator, count: number) {
    await eventually(
      () => locator.count(),
      (seen) => seen === count,
      `${locator} to count ${count}`,
    );
    return { pass: true, message: () => '' };
  },
  async toBeDisabledSoon(locator: Locator) {
    await eventually(() => locator.isDisabled(), Boolean, `${locator} to be disabled`);
    return { pass: true, message: () => '' };
  },
});

interface LocatorMatchers<R = unknown> {
  toBeVisibleSoon(): Promise<R>;
  toContainTextSoon(text: string): Promise<R>;
  toHaveTextSoon(expected: string | RegExp | unknown[]): Promise<R>;
  toHaveValueSoon(expected: string | RegExp): Promise<R>;
  toHaveAttributeSoon(name: string, value: string): Promise<R>;
  toHaveCountSoon(count: number): Promise<R>;
  toBeDisabledSoon(): Promise<R>;
}

declare module 'vitest' {
  interface Matchers<T = any> extends LocatorMatchers<T> {}
}
