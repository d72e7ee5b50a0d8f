// The KMS's data directory: made 0700 (and made so again if it was not),
// its database file 0600 whatever the umask (SQLite gives its WAL the same
// mode), held by one process at a time with a note of who holds it, and
// never silently started afresh when a database that was there is gone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqliteStore } from './store/sqlite';
import { SCHEMA_VERSION } from './store/schema';
import { sqliteSchemaVersion, StoreInUseError } from './store/sqlite-open';
import type { Store } from './store/store';

export const DATABASE_FILE = 'kms.sqlite';
export const ROOT_KEY_FILE = 'root.key';
/** Who holds the directory: pid, host and start time, for the message a second process gets. */
export const HOLDER_FILE = 'kms.pid';
/**
 * Left beside the database once it has been opened: while it is there, a
 * missing or empty database is an error, whatever holds the root key (a file
 * here, a flag, an HSM).
 */
export const MARKER_FILE = 'kms.created';
/** Files that show a KMS kept its data here: the marker, and a root key made here (older releases wrote no marker). */
const MARKERS = [MARKER_FILE, ROOT_KEY_FILE];

export interface OpenDataDir {
  store: Store;
  /** Removes the holder note; call after closing the store. */
  release(): void;
}

function prepareDirectory(dir: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    stat = undefined;
  }
  if (stat && !stat.isDirectory()) throw new Error(`The data directory ${dir} is a file, not a directory: give --data a directory.`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone, and the umask may have narrowed nothing: set it.
  fs.chmodSync(dir, 0o700);
}

/** A database that should be there and is not (or is empty) is a start error, not a new KMS. */
function checkDatabasePresent(dir: string, file: string): void {
  const sizeOf = (f: string): number => {
    try {
      return fs.statSync(f).size;
    } catch {
      return -1;
    }
  };
  const size = sizeOf(file);
  // A process killed before its first checkpoint leaves everything in the WAL.
  if (size > 0 || sizeOf(`${file}-wal`) > 0) return;
  const marker = MARKERS.find((m) => fs.existsSync(path.join(dir, m)));
  if (!marker) return;
  throw new Error(
    `${file} is ${size < 0 ? 'missing' : 'empty'}, but ${path.join(dir, marker)} shows a KMS kept its data here: ` +
      'restore the database from a backup, or start with an empty data directory.',
  );
}

function holder(dir: string): string {
  try {
    const note = JSON.parse(fs.readFileSync(path.join(dir, HOLDER_FILE), 'utf8')) as { pid?: unknown; host?: unknown; started?: unknown };
    return `process ${String(note.pid)} on ${String(note.host)}, started ${String(note.started)}`;
  } catch {
    return 'another process';
  }
}

/** Opens the store in dir for this process alone. */
export function openDataDir(dir: string): OpenDataDir {
  prepareDirectory(dir);
  const file = path.join(dir, DATABASE_FILE);
  checkDatabasePresent(dir, file);
  // Created 0600 before SQLite opens it: SQLite would use 0644 under the usual umask.
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
  let store: Store;
  try {
    store = openSqliteStore(file, { exclusive: true });
  } catch (err) {
    if (err instanceof StoreInUseError) {
      throw new Error(`The data directory ${dir} is in use by ${holder(dir)}. Stop that KMS, or give this one another --data.`);
    }
    throw err;
  }
  const marker = path.join(dir, MARKER_FILE);
  if (!fs.existsSync(marker)) {
    fs.writeFileSync(marker, `A KMS keeps its data in this directory since ${new Date().toISOString()}; do not remove ${DATABASE_FILE}.\n`, { mode: 0o600 });
  }
  const note = path.join(dir, HOLDER_FILE);
  fs.writeFileSync(note, `${JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() })}\n`, { mode: 0o600 });
  return {
    store,
    release: () => fs.rmSync(note, { force: true }),
  };
}

/**
 * `openekm migrate --data DIR`: the directory's database brought to this
 * release's schema (opening it does that; sqlite-open.ts) and closed again.
 * A KMS serving from the directory holds it, and is named in the refusal.
 */
export async function migrateDataDir(dir: string): Promise<{ from: number; to: number }> {
  const file = path.join(path.resolve(dir), DATABASE_FILE);
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: there is nothing to migrate (serve creates it).`);
  const from = sqliteSchemaVersion(file);
  const opened = openDataDir(path.resolve(dir));
  await opened.store.close();
  opened.release();
  return { from, to: SCHEMA_VERSION };
}
