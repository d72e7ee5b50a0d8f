// A CryptoKey-like table in in-memory SQLite plus the same rows as plain
// objects, so SQL paging can be checked against a JavaScript filter and sort.
import Database from 'better-sqlite3';
import { CollectionSpec } from '../../src/list/query';

export interface KeyRow {
  name: string;
  purpose: string;
  state: string;
  createTime: number;
  /** Duration in ms; null for keys without rotation, to exercise NULL handling. */
  rotationMs: number | null;
  importOnly: boolean;
  versionCount: number;
  labels: Record<string, string> | null;
}

export const PURPOSE_NUMBERS: Readonly<Record<number, string>> = {
  1: 'ENCRYPT_DECRYPT',
  5: 'ASYMMETRIC_SIGN',
  6: 'ASYMMETRIC_DECRYPT',
  9: 'MAC',
};
export const STATE_NUMBERS: Readonly<Record<number, string>> = { 1: 'ENABLED', 2: 'DISABLED', 3: 'DESTROYED' };

export const SPEC: CollectionSpec = {
  fields: {
    name: { column: 'k.name', type: 'string' },
    purpose: { column: 'k.purpose', type: 'enum', enumValues: Object.values(PURPOSE_NUMBERS), enumNumbers: PURPOSE_NUMBERS },
    'primary.state': { column: 'k.state', type: 'enum', enumValues: Object.values(STATE_NUMBERS), enumNumbers: STATE_NUMBERS },
    create_time: { column: 'k.create_time', type: 'timestamp' },
    rotation_period: { column: 'k.rotation_ms', type: 'duration', orderColumn: 'COALESCE(k.rotation_ms, -1)' },
    import_only: { column: 'k.import_only', type: 'boolean' },
    version_count: { column: 'k.version_count', type: 'integer' },
  },
  mapFields: { labels: 'k.labels' },
  uniqueKey: 'k.name',
  defaultOrder: [{ field: 'name' }],
};

export const BASE_TIME = Date.UTC(2024, 0, 1);
const ROWS = 300;

/** Label values that would misbehave if they reached SQL as text or through LIKE. */
export const TRICKY_NOTES = ['50%_off', 'a_c', 'abc', `it's "quoted"`, "x' OR '1'='1", 'back\\slash', 'UPPER case'];

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeRows(): KeyRow[] {
  const next = random(20240101);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const rows: KeyRow[] = [];
  for (let i = 0; i < ROWS; i++) {
    rows.push({
      name: `projects/p/locations/global/keyRings/ring/cryptoKeys/key-${String(i).padStart(3, '0')}`,
      purpose: pick(Object.values(PURPOSE_NUMBERS)),
      state: pick(Object.values(STATE_NUMBERS)),
      // Only 20 distinct instants, so ordering by create_time has many ties.
      createTime: BASE_TIME + Math.floor(next() * 20) * 1000,
      rotationMs: next() < 0.3 ? null : pick([3_600_000, 86_400_000, 86_400_001, 604_800_000]),
      importOnly: next() < 0.4,
      versionCount: Math.floor(next() * 6),
      labels: makeLabels(pick),
    });
  }
  return rows;
}

function makeLabels(pick: <T>(items: readonly T[]) => T): Record<string, string> | null {
  const kind = pick([0, 1, 2, 3]);
  if (kind === 0) return null;
  const labels: Record<string, string> = { env: pick(['prod', 'dev', 'preprod', 'Prod']) };
  if (kind >= 2) labels.team = pick(['alpha', 'beta']);
  if (kind === 3) labels.note = pick(TRICKY_NOTES);
  if (kind === 3) labels['cost-center'] = pick(['cc-1', 'cc-2']);
  return labels;
}

export function openDatabase(rows: readonly KeyRow[]): Database.Database {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE keys (
    name TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    rotation_ms INTEGER,
    import_only INTEGER NOT NULL,
    version_count INTEGER NOT NULL,
    labels TEXT
  )`);
  db.exec('CREATE INDEX keys_by_time ON keys (create_time, name)');
  const insert = db.prepare('INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  // Inserted out of name order so that a missing ORDER BY would show.
  const shuffled = [...rows].reverse();
  db.transaction(() => {
    for (const r of shuffled) {
      const labels = r.labels === null ? null : JSON.stringify(r.labels);
      insert.run(r.name, r.purpose, r.state, r.createTime, r.rotationMs, r.importOnly ? 1 : 0, r.versionCount, labels);
    }
  })();
  return db;
}

/** A JavaScript sort key for one order_by term of the spec above. */
export function sortKey(field: string): (row: KeyRow) => string | number {
  const numberOf = (numbers: Readonly<Record<number, string>>, name: string): number =>
    Number(Object.entries(numbers).find(([, n]) => n === name)?.[0] ?? -1);
  switch (field) {
    case 'name':
      return (r) => r.name;
    case 'purpose':
      return (r) => numberOf(PURPOSE_NUMBERS, r.purpose);
    case 'primary.state':
      return (r) => numberOf(STATE_NUMBERS, r.state);
    case 'create_time':
      return (r) => r.createTime;
    case 'import_only':
      return (r) => (r.importOnly ? 1 : 0);
    case 'rotation_period':
      return (r) => r.rotationMs ?? -1;
    case 'version_count':
      return (r) => r.versionCount;
    default:
      throw new Error(`no sort key for ${field}`);
  }
}

/** Sorts like ORDER BY ..., name ASC (the unique tiebreak). Names are ASCII, so '<' agrees with SQLite. */
export function referenceSort(rows: readonly KeyRow[], order: readonly { field: string; desc?: boolean }[]): KeyRow[] {
  const terms = [...order, { field: 'name', desc: false }].map((t) => ({ key: sortKey(t.field), sign: t.desc ? -1 : 1 }));
  return [...rows].sort((a, b) => {
    for (const { key, sign } of terms) {
      const x = key(a);
      const y = key(b);
      if (x !== y) return (x < y ? -1 : 1) * sign;
    }
    return 0;
  });
}
