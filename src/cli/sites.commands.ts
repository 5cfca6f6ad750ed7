import { Command, Option } from 'commander';
import type { EventsPage, Site, SitesPage, Stats } from './api-types.js';
import { action } from './context.js';
import { positiveInteger } from './options.js';
import { allPages } from './paging.js';
import { historyTable, sitesTable, siteLines, statsLines } from './views.js';

/** The most a page of these listings may hold: fewer round trips when following every page. */
const PAGE_SIZE = 1000;

const site = (id: string) => `/sites/${encodeURIComponent(id)}`;

export function sitesCommand(): Command {
  const sites = new Command('sites').description('read sites: one, its history, or the fleet');

  sites
    .command('get')
    .description("a site's state now, at a moment, or at a version")
    .argument('<siteId>')
    .addOption(new Option('--as-of <time>', 'the state at this RFC 3339 time').conflicts('version'))
    .addOption(new Option('--version <n>', 'the state at this version').argParser(positiveInteger))
    .action(
      action(async (cli, siteId: string, options: { asOf?: string; version?: number }) => {
        const answer = await cli.client.getJson<Site>(site(siteId), { asOf: options.asOf, version: options.version });
        if (cli.json) cli.printJson(answer);
        else cli.print(siteLines(answer, cli.style));
      }),
    );

  sites
    .command('history')
    .description("a site's events, oldest first: who did what, when and why")
    .argument('<siteId>')
    .option('--limit <n>', 'at most this many events', positiveInteger)
    .action(
      action(async (cli, siteId: string, options: { limit?: number }) => {
        const { items } = await allPages(
          (cursor, limit) => cli.client.getJson<EventsPage>(`${site(siteId)}/history`, { limit, cursor }),
          (page) => page.events,
          { pageSize: PAGE_SIZE, max: options.limit },
        );
        if (cli.json) cli.printJson({ events: items });
        else cli.print(historyTable(items, cli.style));
      }),
    );

  sites
    .command('list')
    .description('the fleet, now or at a moment, in registration order (every page)')
    .addOption(new Option('--status <status>').choices(['active', 'suspended', 'deleted', 'purged']))
    .option('--customer-id <id>', "only this customer's sites")
    .option('--internal', "only the provider's own sites")
    .option('--no-internal', "only customers' sites")
    .option('--as-of <time>', 'the fleet at this RFC 3339 time')
    .option('--limit <n>', 'at most this many sites', positiveInteger)
    .action(
      action(
        async (
          cli,
          options: { status?: string; customerId?: string; internal?: boolean; asOf?: string; limit?: number },
        ) => {
          const filters = {
            status: options.status,
            customerId: options.customerId,
            internal: options.internal,
            asOf: options.asOf,
          };
          const { items, first } = await allPages(
            (cursor, limit) => cli.client.getJson<SitesPage>('/sites', { ...filters, limit, cursor }),
            (page) => page.sites,
            { pageSize: PAGE_SIZE, max: options.limit },
          );
          if (cli.json) cli.printJson({ sites: items, ...(first?.asOf ? { asOf: first.asOf } : {}) });
          else cli.print([...(first?.asOf ? [`as of ${first.asOf}`] : []), ...sitesTable(items, cli.style)]);
        },
      ),
    );

  return sites;
}

export function statsCommand(): Command {
  return new Command('stats')
    .description('how many sites are in each status, now or at a moment')
    .option('--as-of <time>', 'the counts at this RFC 3339 time')
    .action(
      action(async (cli, options: { asOf?: string }) => {
        const stats = await cli.client.getJson<Stats>('/stats', { asOf: options.asOf });
        if (cli.json) cli.printJson(stats);
        else cli.print(statsLines(stats, cli.style));
      }),
    );
}
