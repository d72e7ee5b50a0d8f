// SLH-DSA-SHA2-128s off the event loop. One signature costs about 1.8 s of
// CPU, and a new or imported key about 0.3 s (its public root is rebuilt);
// done on the main thread, one call would stall every other request for
// that long. So they run in a worker thread, one per server, started on
// first use and ended by close(). Calls queue in the worker and finish in
// order; at most MAX_QUEUED wait at once (then RESOURCE_EXHAUSTED), so a
// caller can't pile up hours of work. ML-DSA and the KEMs (milliseconds)
// stay inline.
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { Code, KmsError } from '../errors';
import type { PqSignAlgorithm } from './pq-algorithms';
import type { PqSignInput } from './pq';

/** What the worker is asked: a signature, fresh material, or an imported key checked. */
export type WorkerRequest =
  // input.bytes arrives as a plain Uint8Array (exact below); the worker makes it a Buffer again.
  | { id: number; op: 'sign'; name: PqSignAlgorithm; material: Uint8Array; input: PqSignInput }
  | { id: number; op: 'generate'; name: PqSignAlgorithm }
  | { id: number; op: 'import'; name: PqSignAlgorithm; bytes: Uint8Array };

export type WorkerReply = { id: number; ok: Uint8Array } | { id: number; error: { code: number; message: string } | null };

/** About a minute and a half of signatures. */
export const MAX_QUEUED = 50;

type Waiter = { resolve: (b: Buffer) => void; reject: (e: Error) => void };

/**
 * Bytes to post: an exact-size copy. A Buffer may be a view into a pooled
 * slab holding other requests' bytes, and postMessage copies the whole slab.
 */
const exact = (b: Uint8Array): Uint8Array => new Uint8Array(b);

export class SlowPqWorker {
  #worker: Worker | undefined;
  /** The calls each worker holds: a worker that ends fails its own, not a successor's. */
  readonly #pending = new Map<Worker, Map<number, Waiter>>();
  #next = 0;
  #closed = false;

  sign(name: PqSignAlgorithm, material: Buffer, input: PqSignInput): Promise<Buffer> {
    return this.#call({ id: 0, op: 'sign', name, material: exact(material), input: { ...input, bytes: exact(input.bytes) as Buffer } });
  }

  generate(name: PqSignAlgorithm): Promise<Buffer> {
    return this.#call({ id: 0, op: 'generate', name });
  }

  /** The stored material of an imported key, checked as crypto/pq-keys.ts does (INVALID_ARGUMENT when it does not fit). */
  importKey(name: PqSignAlgorithm, bytes: Buffer): Promise<Buffer> {
    return this.#call({ id: 0, op: 'import', name, bytes: exact(bytes) });
  }

  /** Ends the worker; calls still waiting fail with UNAVAILABLE, later ones too. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) {
      await worker.terminate();
      this.#lost(worker);
    }
  }

  #call(request: WorkerRequest): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new KmsError(Code.UNAVAILABLE, 'The server is closing; retry the request.'));
    const worker = this.#start();
    const waiting = this.#pending.get(worker)!;
    if (waiting.size >= MAX_QUEUED) {
      return Promise.reject(new KmsError(Code.RESOURCE_EXHAUSTED, `Too many SLH-DSA operations are waiting (${MAX_QUEUED}); retry later.`));
    }
    const id = ++this.#next;
    return new Promise<Buffer>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(path.join(__dirname, 'pq-worker-main.js'));
    worker.unref();
    this.#pending.set(worker, new Map());
    worker.on('message', (reply: WorkerReply) => this.#settle(worker, reply));
    // A worker that dies (out of memory, a bug) fails what it held; the next call starts a new one.
    worker.on('error', () => this.#lost(worker));
    worker.on('exit', () => this.#lost(worker));
    this.#worker = worker;
    return worker;
  }

  #settle(worker: Worker, reply: WorkerReply): void {
    const waiting = this.#pending.get(worker);
    const waiter = waiting?.get(reply.id);
    if (!waiting || !waiter) return;
    waiting.delete(reply.id);
    if ('ok' in reply) waiter.resolve(Buffer.from(reply.ok));
    else if (reply.error) waiter.reject(new KmsError(reply.error.code, reply.error.message));
    else waiter.reject(new KmsError(Code.INTERNAL, 'Internal error encountered.'));
  }

  #lost(worker: Worker): void {
    if (this.#worker === worker) this.#worker = undefined;
    const waiting = this.#pending.get(worker);
    this.#pending.delete(worker);
    for (const waiter of waiting?.values() ?? []) waiter.reject(new KmsError(Code.UNAVAILABLE, 'The signing worker stopped; retry the request.'));
  }
}
