// The worker thread of pq-worker.ts: signs, generates and checks imported SLH-DSA keys, one
// request at a time, and answers with the bytes or with the KmsError's code
// and message (nothing else crosses back: no stack, no library text).
import { parentPort } from 'node:worker_threads';
import { KmsError } from '../errors';
import { generatePqMaterial, pqMaterialFromImport } from './pq-keys';
import { pqSign } from './pq';
import type { WorkerReply, WorkerRequest } from './pq-worker';

function answer(request: WorkerRequest): WorkerReply {
  try {
    const bytes = request.op === 'sign'
      ? pqSign(request.name, Buffer.from(request.material), { ...request.input, bytes: Buffer.from(request.input.bytes) } as never)
      : request.op === 'import'
        ? pqMaterialFromImport(request.name, Buffer.from(request.bytes))
        : generatePqMaterial(request.name);
    return { id: request.id, ok: bytes };
  } catch (err) {
    return { id: request.id, error: err instanceof KmsError ? { code: err.code, message: err.message } : null };
  }
}

parentPort?.on('message', (request: WorkerRequest) => parentPort?.postMessage(answer(request)));
