import { SqliteAdapter, SqliteDialect, type DatabaseConnection, type DialectAdapter, type Driver, type QueryCompiler, type TransactionSettings } from 'kysely';

/**
 * Kysely's SQLite dialect with the one connection handed over in FIFO order.
 *
 * Kysely serialises a single-connection dialect with a mutex whose release wakes every waiter,
 * each of which checks the lock and waits again: a hand-over costs O(waiters). With thousands
 * of queries waiting at once (10,000 offline jobs resuming at start-up, a burst of uploads) the
 * server spent minutes waking waiters. Here the adapter declares "several connections", which
 * switches Kysely's mutex off, and the driver queues acquirers itself: one waiter woken per
 * release. The guarantee is the same — one query or transaction on the connection at a time.
 */
export class FifoSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new FifoSqliteAdapter();
  }

  override createDriver(): Driver {
    return new FifoDriver(super.createDriver());
  }
}

class FifoSqliteAdapter extends SqliteAdapter {
  override get supportsMultipleConnections(): boolean {
    return true;
  }
}

class FifoDriver implements Driver {
  readonly #inner: Driver;
  readonly #waiters: Array<() => void> = [];
  #held = false;

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#held) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    else this.#held = true;
    try {
      return await this.#inner.acquireConnection();
    } catch (err) {
      this.#handOver();
      throw err;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#inner.releaseConnection(connection);
    } finally {
      this.#handOver();
    }
  }

  /** Passes the connection to the longest waiter (it stays held), or frees it. */
  #handOver(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.rollbackTransaction(connection);
  }

  savepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    return this.#inner.savepoint!(connection, name, compileQuery);
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    return this.#inner.rollbackToSavepoint!(connection, name, compileQuery);
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    return this.#inner.releaseSavepoint!(connection, name, compileQuery);
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}
