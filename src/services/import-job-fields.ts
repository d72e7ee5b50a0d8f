// The fields ListImportJobs filters and orders by (list-fields.ts's kind of
// table). state is not among them: it follows from the clock (expire_time).
import type { ListFields } from '../list/check';
import { enumNames } from '../proto/registry';

export const IMPORT_JOB_FIELDS: ListFields = {
  fields: {
    name: { type: 'string' },
    import_method: { type: 'enum', enumValues: enumNames('google.cloud.kms.v1.ImportJob.ImportMethod') },
    protection_level: { type: 'enum', enumValues: enumNames('google.cloud.kms.v1.ProtectionLevel') },
    create_time: { type: 'timestamp' },
    generate_time: { type: 'timestamp' },
    expire_time: { type: 'timestamp' },
  },
  defaultOrder: [{ field: 'name' }],
};
