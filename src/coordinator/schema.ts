/**
 * The coordinator's SQLite schema, versioned. Each table module declares its tables as ordered
 * migrations (the shape of cloudflare/actors' `sql-schema-migrations.ts`: monotonic ids, each
 * applied once per instance), and the coordinator migrates a module the first time an instance
 * uses it after it starts: so an instance creates only the tables of its kind (an account's never
 * holds the budget's), and an instance created by an older deployment picks up a new migration on
 * its next call.
 *
 * One module's pending migrations and the id it reaches are applied in one transaction
 * (`transactionSync`): an instance is never left half-migrated. Table `schema_migrations` records
 * the last id per module. The first migration of every module is the schema as it stood before
 * versions existed, written with `IF NOT EXISTS`, so instances created then adopt it unchanged.
 *
 * An instance whose recorded id is newer than any this code knows was migrated by a newer
 * deployment; this one refuses to touch it (its calls fail, so the gateway answers 503 and fails
 * closed) rather than guess at a schema it has never seen. Roll forward, not back.
 *
 * How to change a table: append a migration with the next id to its module's schema (never edit
 * or reorder one that has shipped), and add a case to test/coordinator/schema.test.ts that starts
 * from an instance at the previous id.
 */

export interface Migration {
  /** Monotonic within its module, from 1. */
  id: number
  description: string
  statements: readonly string[]
}

export interface Schema {
  /** The module's name in `schema_migrations`. */
  module: string
  migrations: readonly Migration[]
}

/** A schema as declared, checked once when its module loads: ids 1, 2, 3, ... in order. */
export function schema(module: string, migrations: readonly Migration[]): Schema {
  migrations.forEach((migration, index) => {
    if (migration.id !== index + 1) {
      throw new Error(
        `${module}: migration ${index + 1} has id ${migration.id}; ids run 1, 2, 3, ... in order`,
      )
    }
  })
  return { module, migrations }
}

/** The id this instance's `module` has reached (0: none applied). */
export function appliedId(sql: SqlStorage, module: string): number {
  ensureLedger(sql)
  const [row] = sql
    .exec<{ last_id: number }>('SELECT last_id FROM schema_migrations WHERE module = ?', module)
    .toArray()
  return row?.last_id ?? 0
}

function ensureLedger(sql: SqlStorage) {
  sql.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL,
    applied_at_ms INTEGER NOT NULL
  )`)
}

/** Applies the module's migrations this instance has not had yet, all or none. */
export function migrate(storage: DurableObjectStorage, target: Schema, nowMs = Date.now()): void {
  const sql = storage.sql
  storage.transactionSync(() => {
    const last = appliedId(sql, target.module)
    const known = target.migrations.length
    if (last > known) {
      throw new Error(
        `${target.module}: this instance is at migration ${last}, newer than this code's ${known}`,
      )
    }
    if (last === known) return
    for (const migration of target.migrations.slice(last)) {
      for (const statement of migration.statements) sql.exec(statement)
    }
    sql.exec(
      `INSERT INTO schema_migrations (module, last_id, applied_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (module) DO UPDATE SET last_id = excluded.last_id,
         applied_at_ms = excluded.applied_at_ms`,
      target.module,
      known,
      nowMs,
    )
  })
}
