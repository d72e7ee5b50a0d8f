// google.longrunning.Operations as Cloud KMS serves it: GetOperation on
// projects/*/locations/*/operations/*. OpenEKM finishes every long-running
// call (DeleteCryptoKey, DeleteCryptoKeyVersion, CreateKeyHandle) before it
// answers, so each operation is recorded done, with its response or error,
// and GetOperation returns that record. The other Operations methods stay
// UNIMPLEMENTED, as in Cloud KMS.
import { randomBytes } from 'node:crypto';
import { notFound } from '../errors';
import type { AnyOf, GetOperationRequest, Operation } from '../proto/wire';
import type { ServiceContext } from './context';
import { locationName, type LocationName, parseLocated } from './names';

const TYPE_URL = 'type.googleapis.com/';

/** An Any in the internal shape: the message's full name and its fields. */
export const anyOf = (type: string, fields: Record<string, unknown> = {}): AnyOf<Record<string, unknown>> => ({ '@type': `${TYPE_URL}${type}`, ...fields });

export const EMPTY = (): AnyOf<Record<string, unknown>> => anyOf('google.protobuf.Empty');

export class OperationsService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Records a finished operation in `location` and returns it. */
  async finished(location: LocationName, metadata: AnyOf<Record<string, unknown>>, response: AnyOf<Record<string, unknown>>): Promise<Operation> {
    const name = `${locationName(location)}/operations/${randomBytes(16).toString('hex')}`;
    const operation: Operation = { name, metadata, done: true, response };
    await this.ctx.store.lifecycle.putOperation({ name, createTime: this.ctx.clock.now(), operation: JSON.stringify(operation) });
    return operation;
  }

  async getOperation(req: GetOperationRequest): Promise<Operation> {
    const parsed = parseLocated(req.name, 'name', 'operations');
    const name = `${locationName(parsed)}/operations/${parsed.id}`;
    const record = await this.ctx.store.lifecycle.getOperation(name);
    if (!record) throw notFound(`Operation ${name} not found.`);
    return JSON.parse(record.operation) as Operation;
  }
}
