import { execFile, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pollUntil } from '../../src/testing/poll-until.js';
import { freePort } from './service-process.js';

/**
 * A PostgreSQL 15 server that a test creates and owns, for tests that stop
 * and start the store under the service (issue 10, point 6). It lives in a
 * temporary folder, listens on 127.0.0.1 only on a free port, keeps its
 * unix socket in that folder, and syncs to disk (fsync on) like a real one.
 *
 * It never touches the machine's shared server (127.0.0.1:5432): every
 * pg_ctl call names this server's own data folder, and the port is never 5432.
 */
export const POSTGRES_BIN_DIR = '/usr/lib/postgresql/15/bin';

const BINARIES = ['initdb', 'pg_ctl', 'postgres'];

/** The shared server's port, which a private server must never take. */
const SHARED_SERVER_PORT = 5432;

export interface PrivatePostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication). */
  readonly url: string;
  /** The temporary folder: data/, the server log, the unix socket. */
  readonly folder: string;
  /**
   * Stops the server and waits until it has: `fast` (the default) rolls back
   * open transactions and checkpoints; `immediate` exits at once, as a crash
   * would, and the next start recovers from the WAL. Does nothing if stopped.
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same data and port; resolves once it accepts connections. Does nothing if running. */
  start(): Promise<void>;
  /** Stops it (immediate) and removes its folder. Idempotent; call it in afterAll. */
  destroy(): Promise<void>;
}

/**
 * Whether the binaries are here. Without them, prints one line saying so and
 * answers false (the caller skips), unless LEDGER_REQUIRE_POSTGRES=1, where
 * it throws: CI must not pass without a server.
 */
export function havePostgresBinaries(binDir = POSTGRES_BIN_DIR): boolean {
  const missing = BINARIES.filter((name) => !existsSync(join(binDir, name)));
  if (missing.length === 0) return true;
  const line = `skipped: no PostgreSQL binaries at ${binDir} (missing ${missing.join(', ')}; install PostgreSQL 15)`;
  if (process.env['LEDGER_REQUIRE_POSTGRES'] === '1') throw new Error(`LEDGER_REQUIRE_POSTGRES=1, but ${line}`);
  console.warn(line);
  return false;
}

/**
 * Creates a server (initdb) in a new temporary folder and starts it.
 * Whatever happens, it does not outlive this process: destroy() stops it,
 * an exit handler stops it on a normal exit without destroy(), and a
 * watchdog process stops it within a moment if this one is killed instead
 * (vitest ends its workers with SIGTERM, and no signal runs exit handlers).
 */
export async function startPrivatePostgres(options: { binDir?: string } = {}): Promise<PrivatePostgres> {
  const binDir = options.binDir ?? POSTGRES_BIN_DIR;
  const folder = mkdtempSync(join(tmpdir(), 'ledger-private-pg-'));
  const server = new Server(binDir, folder);
  try {
    await server.create();
    await server.startOnAFreePort();
  } catch (error) {
    server.destroySync();
    throw error;
  }
  return {
    get port() {
      return server.port;
    },
    get url() {
      return server.url;
    },
    folder,
    stop: (mode = 'fast') => server.stop(mode),
    start: () => server.start(),
    destroy: async () => server.destroySync(),
  };
}

/** initdb refuses to run as root: as root, the binaries run as the `postgres` user, who owns the folder. */
const asRoot = process.getuid?.() === 0;

class Server {
  port = 0;
  private readonly data: string;
  private readonly log: string;
  private watchdog: number | undefined;
  private destroyed = false;
  private readonly onExit = () => this.destroySync();

  constructor(
    private readonly binDir: string,
    readonly folder: string,
  ) {
    this.data = join(folder, 'data');
    this.log = join(folder, 'server.log');
  }

  async create(): Promise<void> {
    if (asRoot) {
      const owner = postgresUser();
      chownSync(this.folder, owner.uid, owner.gid);
    }
    process.once('exit', this.onExit);
    this.watchdog = this.startWatchdog();
    await this.run('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
    // Its own file, included from postgresql.conf: a restart reads the same settings.
    appendFileSync(join(this.data, 'postgresql.conf'), "\ninclude 'private-server.conf'\n");
  }

  /** The free port may be taken by another process before the server binds it: then try another. */
  async startOnAFreePort(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      this.port = await freePort();
      if (this.port === SHARED_SERVER_PORT) continue;
      this.writeSettings();
      try {
        await this.start();
        return;
      } catch (error) {
        if (attempt >= 3 || !this.logTail().includes('could not bind')) throw error;
      }
    }
  }

  private writeSettings(): void {
    const file = join(this.data, 'private-server.conf');
    writeFileSync(
      file,
      [
        "listen_addresses = '127.0.0.1'",
        `port = ${this.port}`,
        `unix_socket_directories = '${this.folder}'`,
        'fsync = on',
        'synchronous_commit = on',
        'full_page_writes = on',
        '',
      ].join('\n'),
    );
    if (asRoot) chownSync(file, postgresUser().uid, postgresUser().gid);
  }

  async start(): Promise<void> {
    if (this.destroyed) throw new Error(`the private PostgreSQL in ${this.folder} was destroyed`);
    if (await this.running()) return;
    try {
      await this.run('pg_ctl', ['start', '-D', this.data, '-l', this.log, '-w', '-t', '60', '-s']);
    } catch (error) {
      throw new Error(`${(error as Error).message}\nserver log:\n${this.logTail()}`);
    }
    // pg_ctl -w has seen the server accept connections; the tests connect over TCP, so check that way too.
    await pollUntil(() => this.accepts(), {
      what: `the private PostgreSQL on port ${this.port} to accept connections`,
      timeoutMs: 30_000,
      intervalMs: 100,
    });
  }

  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    if (this.destroyed || !(await this.running())) return;
    await this.run('pg_ctl', ['stop', '-D', this.data, '-m', mode, '-w', '-t', '60', '-s']);
  }

  /** Synchronous, so the exit handler can run it: stops the server at once and removes the folder. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener('exit', this.onExit);
    if (existsSync(join(this.data, 'postmaster.pid'))) {
      spawnSync(...this.command('pg_ctl', ['stop', '-D', this.data, '-m', 'immediate', '-w', '-s']), {
        stdio: 'ignore',
        env: this.env(),
      });
    }
    rmSync(this.folder, { recursive: true, force: true });
    if (this.watchdog !== undefined) {
      try {
        process.kill(this.watchdog, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** `pg_ctl status`: 0 running, 3 not running. */
  private async running(): Promise<boolean> {
    try {
      await this.run('pg_ctl', ['status', '-D', this.data]);
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 3) return false;
      throw error;
    }
  }

  private async accepts(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /**
   * A detached shell that outlives a killed test process: once this process
   * is gone, it stops the server and removes the folder.
   */
  private startWatchdog(): number | undefined {
    const [file, args] = this.command('pg_ctl', ['stop', '-D', this.data, '-m', 'immediate', '-w', '-s']);
    const stop = [file, ...args].map(shellQuote).join(' ');
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.2; done; ${stop} >/dev/null 2>&1; rm -rf ${shellQuote(this.folder)}`;
    const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore', env: this.env() });
    child.unref();
    return child.pid;
  }

  /** The command line for a binary, as the `postgres` user when this process is root. */
  private command(binary: string, args: string[]): [string, string[]] {
    const path = join(this.binDir, binary);
    return asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  }

  /** A clean environment: no PGDATA, PGPORT or PGHOST of the caller's can point a binary at another server. */
  private env(): NodeJS.ProcessEnv {
    return { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };
  }

  private run(binary: string, args: string[]): Promise<void> {
    const [file, fullArgs] = this.command(binary, args);
    return new Promise((resolve, reject) => {
      execFile(file, fullArgs, { env: this.env(), timeout: 120_000 }, (error, stdout, stderr) => {
        if (error === null) return resolve();
        reject(
          Object.assign(new Error(`${binary} ${args[0]} failed (${error.code ?? error.signal}): ${stderr || stdout}`), {
            code: error.code,
          }),
        );
      });
    });
  }

  private logTail(): string {
    try {
      return readFileSync(this.log, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no server log)';
    }
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const owner = { uid: id('-u'), gid: id('-g') };
  if (!Number.isInteger(owner.uid) || owner.uid <= 0)
    throw new Error('running as root, but there is no `postgres` user to run PostgreSQL as (initdb refuses root)');
  return owner;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
