// The fields each Cloud KMS list filters and orders by, as the API offers
// them (names as Cloud KMS spells them, types, an enum's names from the
// protos). A filter and an order_by are checked against these here; the
// store knows only where each field lives (store/schema.ts, sqlite-ekm.ts).
import type { ApiField, ListFields } from '../list/check';
import { enumNames } from '../proto/registry';

const kmsEnum = (name: string): ApiField => ({ type: 'enum', enumValues: enumNames(`google.cloud.kms.v1.${name}`) });

const STATE = kmsEnum('CryptoKeyVersion.CryptoKeyVersionState');
const PROTECTION = kmsEnum('ProtectionLevel');
const ALGORITHM = kmsEnum('CryptoKeyVersion.CryptoKeyVersionAlgorithm');
const PURPOSE = kmsEnum('CryptoKey.CryptoKeyPurpose');
const STRING: ApiField = { type: 'string' };
const TIMESTAMP: ApiField = { type: 'timestamp' };
const DURATION: ApiField = { type: 'duration' };
const BY_NAME = [{ field: 'name' }];

export const KEY_RING_FIELDS: ListFields = {
  fields: { name: STRING, create_time: TIMESTAMP },
  defaultOrder: BY_NAME,
};

export const CRYPTO_KEY_FIELDS: ListFields = {
  fields: {
    name: STRING,
    purpose: PURPOSE,
    create_time: TIMESTAMP,
    next_rotation_time: TIMESTAMP,
    rotation_period: DURATION,
    destroy_scheduled_duration: DURATION,
    import_only: { type: 'boolean' },
    crypto_key_backend: STRING,
    'version_template.protection_level': PROTECTION,
    'version_template.algorithm': ALGORITHM,
    'primary.name': STRING,
    'primary.state': STATE,
    'primary.protection_level': PROTECTION,
    'primary.algorithm': ALGORITHM,
  },
  mapFields: ['labels'],
  defaultOrder: BY_NAME,
};

export const CRYPTO_KEY_VERSION_FIELDS: ListFields = {
  fields: {
    name: STRING,
    state: STATE,
    protection_level: PROTECTION,
    algorithm: ALGORITHM,
    create_time: TIMESTAMP,
    generate_time: TIMESTAMP,
    destroy_time: TIMESTAMP,
    destroy_event_time: TIMESTAMP,
    'external_protection_level_options.external_key_uri': STRING,
    'external_protection_level_options.ekm_connection_key_path': STRING,
    'external_protection_level_options.ekm_connection_backend_override': STRING,
  },
  // Versions order by number (the store's unique key), so version 10 follows version 9.
  defaultOrder: [],
};

export const EKM_CONNECTION_FIELDS: ListFields = {
  fields: {
    name: STRING,
    create_time: TIMESTAMP,
    key_management_mode: { type: 'enum', enumValues: enumNames('google.cloud.kms.v1.EkmConnection.KeyManagementMode') },
    crypto_space_path: STRING,
    etag: STRING,
  },
  defaultOrder: BY_NAME,
};
