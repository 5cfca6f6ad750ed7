import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SiteStreams, type LoadedSite } from '../../../src/sites/site-streams.js';
import { benchConfig, startHttpService } from '../app.js';
import { emmettSitesModule } from './emmett-sites.js';

/**
 * A server for the HTTP figures, in its own process so the load generator
 * (autocannon, in the parent) does not share its event loop:
 *   --mode real --dir D   the service (configureApp, SQLite store on D)
 *   --mode bare           a bare NestJS app with one trivial GET route
 *   --mode stubbed --dir D the service with SiteStreams.load answering from
 *                         memory after its first read: what the HTTP stack
 *                         alone (auth, validation, interceptors, JSON) costs
 *   --mode emmett --dir D the Emmett baseline for site commands: registrations
 *                         and contact changes on Emmett's SQLite store (emmett-sites.ts)
 * Prints {"url": ...} on its first line once listening; exits when stdin closes.
 */
@Controller()
class BareController {
  @Get('ping')
  ping(): { ok: boolean } {
    return { ok: true };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

const { values } = parseArgs({ options: { mode: { type: 'string' }, dir: { type: 'string' } } });

let close: () => Promise<void>;
let url: string;
if (values.mode === 'bare') {
  const app = await NestFactory.create(BareModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  close = () => app.close();
} else if (values.mode === 'emmett' && values.dir !== undefined) {
  const app = await NestFactory.create(await emmettSitesModule(values.dir), { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  close = () => app.close();
} else if ((values.mode === 'real' || values.mode === 'stubbed') && values.dir !== undefined) {
  if (values.mode === 'stubbed') stubSiteLoads();
  const service = await startHttpService(benchConfig(values.dir));
  url = service.url;
  close = () => service.app.close();
} else {
  console.error('usage: server.js --mode bare | --mode real|stubbed|emmett --dir DIR');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void close().then(() => process.exit(0));
});

/** Diagnostic only: every site read after the first is served from memory, with no store, key or decryption work. */
function stubSiteLoads(): void {
  const load = SiteStreams.prototype.load;
  const answers = new Map<string, LoadedSite>();
  SiteStreams.prototype.load = async function (this: SiteStreams, siteId, upTo, options) {
    const known = answers.get(siteId);
    if (known && upTo?.toTime === undefined && upTo?.toVersion === undefined) return known;
    const loaded = await load.call(this, siteId, upTo, options);
    answers.set(siteId, loaded);
    return loaded;
  };
}
