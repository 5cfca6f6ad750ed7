import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ReadEvent } from '@event-driven-io/emmett';
import type { SQLiteConnection } from '@event-driven-io/emmett-sqlite';
import {
  Body,
  Controller,
  Headers,
  HttpCode,
  Inject,
  Module,
  Param,
  Post,
  Put,
  UnauthorizedException,
  type DynamicModule,
} from '@nestjs/common';
import type { JsonObject } from '../../../src/common/json.js';
import type { Recorded } from '../../../src/common/recorded.js';
import { SqliteKeyStore } from '../../../src/crypto/sqlite-key-store.js';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import { PersonalDataCodec } from '../../../src/ledger/personal-data.codec.js';
import { toNewEvents } from '../../../src/ledger/request-context.js';
import type { SiteCommand } from '../../../src/sites/domain/site.commands.js';
import { decideSite, evolveSite } from '../../../src/sites/domain/site.decider.js';
import type { Contact, SiteEvent, SiteProduct } from '../../../src/sites/domain/site.events.js';
import { initialSiteState, type SiteState } from '../../../src/sites/domain/site.state.js';
import { BENCH_TOKENS } from '../app.js';
import { openPeerConnection, peerAggregate, peerAppend, toPeerEvent, type PeerEvent } from '../emmett.js';
import { recordedOfPeerEvent } from '../peer-events.js';

/**
 * The Emmett baseline for the HTTP command figures: a minimal NestJS app
 * whose routes do what an Emmett command handler does, on Emmett's SQLite
 * event store: read the stream and fold it (Emmett's readStream, our
 * evolve), decide with our decider, seal the contacts with our codec and
 * key store (a registration creates the site's key, as ours does), and
 * append with the expected version (Emmett's appendToStream, WAL,
 * synchronous=FULL), retrying on a conflicting writer. The events carry the
 * same data and metadata as ours, so each stores the same bytes.
 *
 * What it leaves out, and the service does: the validation pipe, the
 * idempotency and ETag handling, the hash chain, and waiting for read
 * models before answering (it has none). The bearer token is checked by
 * its hash, as the service's guard does.
 *
 * One connection, opened at start: its appends take turns, because
 * Emmett's SQLite connection counts nested transactions (two appends in
 * flight on it would share one transaction), and its public store opens a
 * connection per call.
 */
// The service's defaults (LEDGER_RETENTION, LEDGER_MIN_RETENTION).
const POLICY = { defaultRetention: 'P30D', minRetention: 'P7D' };
const OPERATOR_TOKEN_SHA256 = createHash('sha256').update(BENCH_TOKENS.operator).digest('hex');
const MAX_ATTEMPTS = 10;

class EmmettSites {
  private lastAppend: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly connection: SQLiteConnection,
    private readonly codec: PersonalDataCodec,
  ) {}

  /** Load → decide → append with the expected version, again on a conflict; the new state (contacts in the clear, as given). */
  async handle(siteId: string, command: (now: string) => SiteCommand): Promise<SiteState> {
    const streamName = siteStreamId(siteId);
    for (let attempt = 1; ; attempt += 1) {
      const { state, version } = await peerAggregate<SiteState>(
        this.connection,
        streamName,
        () => initialSiteState,
        (current: SiteState, event: ReadEvent<PeerEvent>) => evolveSite(current, recordedOfPeerEvent(event)),
      );
      const now = new Date().toISOString();
      const events = decideSite(command(now), state, POLICY);
      const sealed = await Promise.all(
        events.map((event) => this.codec.protect(siteId, event.data as unknown as JsonObject)),
      );
      const context = {
        principal: { id: 'operator', roles: new Set(['operator'] as const) },
        correlationId: randomUUID(),
        causationId: null,
      };
      const stored = toNewEvents(
        events.map((event, index) => ({ type: event.type, data: sealed[index]! })),
        context,
        now,
      );
      try {
        await this.inTurn(() => peerAppend(this.connection, streamName, version, stored.map(toPeerEvent)));
      } catch (error) {
        if (attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
      return events.reduce(
        (current, event, index) =>
          evolveSite(current, {
            ...event,
            eventId: stored[index]!.eventId,
            version: version + index + 1,
            occurredAt: now,
          } as Recorded<SiteEvent>),
        state,
      );
    }
  }

  private inTurn(append: () => Promise<void>): Promise<void> {
    const turn = this.lastAppend.then(append);
    this.lastAppend = turn.catch(() => undefined);
    return turn;
  }
}

const SITES = Symbol('EmmettSites');

interface RegisterBody {
  siteId: string;
  customerId: string;
  name: string;
  region?: string;
  internal?: boolean;
  products?: SiteProduct[];
  contacts?: Contact[];
  retention?: string;
}

@Controller('v1/sites')
class EmmettSitesController {
  constructor(@Inject(SITES) private readonly sites: EmmettSites) {}

  @Post()
  @HttpCode(201)
  register(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: RegisterBody,
  ): Promise<SiteState> {
    authorize(authorization);
    const { siteId, ...data } = body;
    return this.sites.handle(siteId, (now) => ({
      type: 'RegisterSite',
      data: { siteId, ...data },
      metadata: { now, actor: { id: 'operator', admin: false } },
    }));
  }

  @Put(':siteId/contacts')
  updateContacts(
    @Headers('authorization') authorization: string | undefined,
    @Param('siteId') siteId: string,
    @Body() body: { contacts: Contact[] },
  ): Promise<SiteState> {
    authorize(authorization);
    const contacts = body.contacts.map(({ name, email, role }) => ({ name, email, role }));
    return this.sites.handle(siteId, (now) => ({
      type: 'UpdateSiteContacts',
      data: { siteId, contacts },
      metadata: { now, actor: { id: 'operator', admin: false } },
    }));
  }
}

function authorize(authorization: string | undefined): void {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
  if (createHash('sha256').update(token).digest('hex') !== OPERATOR_TOKEN_SHA256) throw new UnauthorizedException();
}

/** The app's module on `dir`: emmett.db (the event store) and keys.db (the same key store as ours). */
export async function emmettSitesModule(dir: string): Promise<DynamicModule> {
  const connection = await openPeerConnection(join(dir, 'emmett.db'));
  const keys = new SqliteKeyStore(join(dir, 'keys.db'));
  const sites = new EmmettSites(connection, new PersonalDataCodec(keys));
  return {
    module: EmmettSitesModule,
    controllers: [EmmettSitesController],
    providers: [{ provide: SITES, useValue: sites }],
  };
}

@Module({})
class EmmettSitesModule {}
