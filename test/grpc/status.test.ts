// The gRPC transport maps errors once: a KmsError keeps its code, message and
// typed details (in grpc-status-details-bin); anything else is INTERNAL with
// a generic message, and its detail reaches the log only.
import '../helpers/env';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { Handler } from '../../src/api/methods';
import { Code, INTERNAL_MESSAGE, KmsError } from '../../src/errors';
import { startGrpc } from '../../src/grpc/server';
import { decodeMessage, messageType } from '../../src/proto/registry';
import { grpcClient } from '../helpers/kms';

const KMS = 'google.cloud.kms.v1.KeyManagementService';

async function withTable(entries: [string, Handler][], run: (port: number) => Promise<void>): Promise<string[]> {
  const logged: string[] = [];
  const log = { info: () => undefined, error: (m: string, f?: Record<string, unknown>) => void logged.push(`${m} ${JSON.stringify(f)}`) };
  const transport = await startGrpc(new Map(entries), '127.0.0.1', 0, log);
  try {
    await run(transport.port);
  } finally {
    await transport.close();
  }
  return logged;
}

void test('an unexpected error is INTERNAL with a generic message; the cause goes to the log', async () => {
  const logged = await withTable([[`${KMS}.GetKeyRing`, () => Promise.reject(new Error('db at /secret/path exploded'))]], async (port) => {
    const client = grpcClient(port);
    await assert.rejects(client.getKeyRing({ name: 'projects/p/locations/l/keyRings/r' }, { maxRetries: 0 }), (err: Error & { code: number }) => {
      assert.equal(err.code, Code.INTERNAL);
      assert.ok(err.message.includes(INTERNAL_MESSAGE));
      assert.ok(!err.message.includes('secret'));
      return true;
    });
    await client.close();
  });
  assert.equal(logged.length, 1);
  assert.match(logged[0], /secret\/path/);
});

void test('a KmsError keeps its code, message and typed details', async () => {
  const detail = { type: 'google.rpc.PreconditionFailure', value: { violations: [{ type: 'EXAMPLE', subject: 's', description: 'd' }] } };
  await withTable([[`${KMS}.GetKeyRing`, () => Promise.reject(new KmsError(Code.FAILED_PRECONDITION, 'nope', [detail]))]], async (port) => {
    const client = grpcClient(port);
    await assert.rejects(client.getKeyRing({ name: 'projects/p/locations/l/keyRings/r' }, { maxRetries: 0 }), (err: grpc.ServiceError) => {
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      const [bin] = err.metadata.get('grpc-status-details-bin') as Buffer[];
      const status = decodeMessage(messageType('google.rpc.Status'), bin) as { code: number; message: string; details: { type_url: string; value: Buffer }[] };
      assert.equal(status.code, Code.FAILED_PRECONDITION);
      assert.equal(status.message, 'nope');
      assert.equal(status.details[0].type_url, 'type.googleapis.com/google.rpc.PreconditionFailure');
      const failure = decodeMessage(messageType('google.rpc.PreconditionFailure'), status.details[0].value);
      assert.deepEqual(failure, detail.value);
      return true;
    });
    await client.close();
  });
});

void test('a method the protos declare but the table lacks is UNIMPLEMENTED', async () => {
  await withTable([], async (port) => {
    const client = grpcClient(port);
    await assert.rejects(client.createImportJob({ parent: 'projects/p/locations/l/keyRings/r' }, { maxRetries: 0 }), { code: Code.UNIMPLEMENTED });
    await client.close();
  });
});
