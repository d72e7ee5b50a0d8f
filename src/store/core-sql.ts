// The KMS core tables' records and statements, shared by both stores: row
// mappers (SQLite and PostgreSQL rows have the same columns and, with int8
// read as numbers, the same values) and statement texts written once with
// '?' or '@name' placeholders (PostgreSQL numbers them: pg-common.ts).
import { type Dialect, filterSql, keysetAfter, type ListColumns, orderBySql, orderTerms, type OrderTerm, selectOrderValues, type SqlParam } from '../list/query';
import type { CryptoKeyRecord, CryptoKeyVersionRecord, KeyRingRecord, ListQuery, Page } from './store';

export type Row = Record<string, unknown>;

export const keyRingFrom = (r: Row): KeyRingRecord => ({ name: r.name as string, createTime: r.create_time as number });

export function cryptoKeyFrom(r: Row): CryptoKeyRecord {
  return {
    name: r.name as string,
    keyRing: r.parent as string,
    createTime: r.create_time as number,
    purpose: r.purpose as string,
    protectionLevel: r.protection_level as string,
    algorithm: r.algorithm as string,
    labels: JSON.parse(r.labels as string) as Record<string, string>,
    rotationPeriodMs: r.rotation_period as number | null,
    nextRotationTime: r.next_rotation_time as number | null,
    destroyScheduledDurationMs: r.destroy_scheduled_duration as number,
    importOnly: r.import_only === 1,
    cryptoKeyBackend: r.crypto_key_backend as string,
    allowedAccessReasons:
      r.allowed_access_reasons == null ? null : (JSON.parse(r.allowed_access_reasons as string) as string[]),
    primaryVersion: r.primary_version as number | null,
    revision: r.revision as number,
  };
}

export function versionFrom(r: Row): CryptoKeyVersionRecord {
  return {
    name: r.name as string,
    cryptoKey: r.parent as string,
    version: r.version as number,
    state: r.state as string,
    protectionLevel: r.protection_level as string,
    algorithm: r.algorithm as string,
    createTime: r.create_time as number,
    generateTime: r.generate_time as number | null,
    destroyTime: r.destroy_time as number | null,
    destroyEventTime: r.destroy_event_time as number | null,
    externalKeyUri: r.external_key_uri as string,
    ekmConnectionKeyPath: r.ekm_connection_key_path as string,
    ekmConnectionBackendOverride: r.ekm_connection_backend_override as string,
    externalDestructionFailureReason: r.external_destruction_failure_reason as string,
    importJob: r.import_job as string,
    importTime: r.import_time as number | null,
    importFailureReason: r.import_failure_reason as string,
    importFingerprint: r.import_fingerprint as string,
    revision: r.revision as number,
  };
}

export function keyParams(k: Omit<CryptoKeyRecord, 'revision'>): Row {
  return {
    name: k.name,
    parent: k.keyRing,
    create_time: k.createTime,
    purpose: k.purpose,
    protection_level: k.protectionLevel,
    algorithm: k.algorithm,
    labels: JSON.stringify(k.labels),
    rotation_period: k.rotationPeriodMs,
    next_rotation_time: k.nextRotationTime,
    destroy_scheduled_duration: k.destroyScheduledDurationMs,
    import_only: k.importOnly ? 1 : 0,
    crypto_key_backend: k.cryptoKeyBackend,
    allowed_access_reasons: k.allowedAccessReasons == null ? null : JSON.stringify(k.allowedAccessReasons),
    primary_version: k.primaryVersion,
  };
}

export function versionParams(v: Omit<CryptoKeyVersionRecord, 'revision'>): Row {
  return {
    name: v.name,
    parent: v.cryptoKey,
    version: v.version,
    state: v.state,
    protection_level: v.protectionLevel,
    algorithm: v.algorithm,
    create_time: v.createTime,
    generate_time: v.generateTime,
    destroy_time: v.destroyTime,
    destroy_event_time: v.destroyEventTime,
    external_key_uri: v.externalKeyUri,
    ekm_connection_key_path: v.ekmConnectionKeyPath,
    ekm_connection_backend_override: v.ekmConnectionBackendOverride ?? '',
    external_destruction_failure_reason: v.externalDestructionFailureReason ?? '',
    import_job: v.importJob ?? '',
    import_time: v.importTime ?? null,
    import_failure_reason: v.importFailureReason ?? '',
    import_fingerprint: v.importFingerprint ?? '',
  };
}

/** Statements of the core tables, in SQL both databases take. */
export const CORE_SQL = {
  insertKeyRing: 'INSERT INTO key_rings (name, parent, create_time) VALUES (@name, @parent, @create_time)',
  getKeyRing: 'SELECT * FROM key_rings WHERE name = ?',
  insertKey: `INSERT INTO crypto_keys (name, parent, create_time, purpose, protection_level, algorithm,
        labels, rotation_period, next_rotation_time, destroy_scheduled_duration, import_only,
        crypto_key_backend, allowed_access_reasons, primary_version, next_version, revision)
        VALUES (@name, @parent, @create_time, @purpose, @protection_level, @algorithm, @labels,
        @rotation_period, @next_rotation_time, @destroy_scheduled_duration, @import_only,
        @crypto_key_backend, @allowed_access_reasons, @primary_version, 1, 1)`,
  getKey: 'SELECT * FROM crypto_keys WHERE name = ?',
  updateKey: `UPDATE crypto_keys SET labels = @labels, rotation_period = @rotation_period,
        next_rotation_time = @next_rotation_time, protection_level = @protection_level,
        algorithm = @algorithm, allowed_access_reasons = @allowed_access_reasons,
        primary_version = @primary_version, revision = revision + 1
        WHERE name = @name AND revision = @revision`,
  takeVersionNumber: `UPDATE crypto_keys SET next_version = next_version + 1
        WHERE name = ? RETURNING next_version - 1 AS n, revision`,
  setPrimary: 'UPDATE crypto_keys SET primary_version = ?, revision = revision + 1 WHERE name = ?',
  setRotation: 'UPDATE crypto_keys SET next_rotation_time = ?, revision = revision + 1 WHERE name = ?',
  insertVersion: `INSERT INTO crypto_key_versions (name, parent, version, state, protection_level,
        algorithm, create_time, generate_time, destroy_time, destroy_event_time, external_key_uri,
        ekm_connection_key_path, external_destruction_failure_reason, ekm_connection_backend_override,
        import_job, import_time, import_failure_reason, import_fingerprint, revision)
        VALUES (@name, @parent, @version, @state, @protection_level, @algorithm, @create_time, @generate_time,
        @destroy_time, @destroy_event_time, @external_key_uri, @ekm_connection_key_path,
        @external_destruction_failure_reason, @ekm_connection_backend_override,
        @import_job, @import_time, @import_failure_reason, @import_fingerprint, 1)`,
  getVersion: 'SELECT * FROM crypto_key_versions WHERE name = ?',
  updateVersion: `UPDATE crypto_key_versions SET state = @state, generate_time = @generate_time,
        destroy_time = @destroy_time, destroy_event_time = @destroy_event_time,
        external_key_uri = @external_key_uri, ekm_connection_key_path = @ekm_connection_key_path,
        external_destruction_failure_reason = @external_destruction_failure_reason,
        ekm_connection_backend_override = @ekm_connection_backend_override,
        import_job = @import_job, import_time = @import_time, import_failure_reason = @import_failure_reason,
        import_fingerprint = @import_fingerprint,
        revision = revision + 1 WHERE name = @name AND revision = @revision`,
  deleteVersion: 'DELETE FROM crypto_key_versions WHERE name = ? AND revision = ?',
  deleteKey: `DELETE FROM crypto_keys WHERE name = ? AND revision = ?
        AND NOT EXISTS (SELECT 1 FROM crypto_key_versions WHERE parent = crypto_keys.name)`,
  clearPrimary: 'UPDATE crypto_keys SET primary_version = NULL, revision = revision + 1 WHERE name = ? AND primary_version = ?',
  deletePolicy: 'DELETE FROM iam_policies WHERE resource = ?',
  insertRetired: `INSERT INTO retired_resources (name, parent, original_resource, resource_type, delete_time)
        VALUES (?, ?, ?, ?, ?)`,
  isRetired: 'SELECT 1 FROM retired_resources WHERE original_resource = ?',
  insertMaterial: 'INSERT INTO key_material (version_name, sealed) VALUES (?, ?)',
  getMaterial: 'SELECT sealed FROM key_material WHERE version_name = ?',
  deleteMaterial: 'DELETE FROM key_material WHERE version_name = ?',
  dueDestructions: `SELECT * FROM crypto_key_versions WHERE state = 'DESTROY_SCHEDULED'
        AND destroy_time <= ? ORDER BY destroy_time LIMIT ?`,
  pendingExternalDestructions: `SELECT * FROM crypto_key_versions
        WHERE state = 'PENDING_EXTERNAL_DESTRUCTION' ORDER BY name LIMIT ?`,
  dueRotations: `SELECT * FROM crypto_keys WHERE next_rotation_time IS NOT NULL
        AND next_rotation_time <= ? ORDER BY next_rotation_time LIMIT ?`,
  getSetting: 'SELECT value FROM settings WHERE key = ?',
  initSetting: 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
  registerProject: 'INSERT INTO projects (id, number) VALUES (?, ?) ON CONFLICT DO NOTHING',
  projectIdOf: 'SELECT id FROM projects WHERE number = ?',
  projectIdsInUse: `SELECT DISTINCT substr(name, 10, instr(substr(name, 10), '/') - 1) AS id FROM (
        SELECT name FROM key_rings UNION ALL SELECT name FROM ekm_connections UNION ALL SELECT name FROM ekm_configs
        UNION ALL SELECT name FROM sd_namespaces) WHERE name LIKE 'projects/%/%'`,
} as const;

/** One list page's two statements (rows, count), in `dialect`, with their parameters. */
export interface ListStatements {
  terms: OrderTerm[];
  rows: { sql: string; params: SqlParam[] };
  count: { sql: string; params: SqlParam[] };
}

/** The page query (pageSize + 1 rows after the token's values) and the count of `table` rows under query.parent. */
export function listStatements(table: string, alias: string, columns: ListColumns, query: ListQuery, dialect: Dialect): ListStatements {
  const where = filterSql(query.filter, columns, dialect);
  const terms = orderTerms(query.order, columns);
  const after = query.after ? keysetAfter(terms, query.after) : { sql: dialect === 'postgres' ? 'TRUE' : '1', params: [] };
  const parentCol = alias ? `${alias}.parent` : 'parent';
  const from = `FROM ${table} ${alias} WHERE ${parentCol} = ? AND (${where.sql})`;
  return {
    terms,
    rows: {
      sql: `SELECT ${alias ? alias + '.' : ''}*, ${selectOrderValues(terms)} ${from} AND (${after.sql}) ${orderBySql(terms)} LIMIT ?`,
      params: [query.parent, ...where.params, ...after.params, query.pageSize + 1],
    },
    count: { sql: `SELECT COUNT(*) AS n ${from}`, params: [query.parent, ...where.params] },
  };
}

/** The page from its rows (one more than pageSize when another page follows) and the total. */
export function pageOf<T>(rows: Row[], terms: readonly OrderTerm[], pageSize: number, total: number, from: (row: Row) => T): Page<T> {
  const more = rows.length > pageSize;
  const page = more ? rows.slice(0, pageSize) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map(from),
    next: more && last ? terms.map((_, i) => last[`o${i}`] as string | number | null) : undefined,
    totalSize: total,
  };
}
