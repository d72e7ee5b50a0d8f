// SLH-DSA-SHA2-128s off the event loop. One signature costs about 1.8 s of
// CPU and a key about 0.3 s (measured on the CI machines: pq-keys.ts's
// author's figures, docs/benchmark.md); done on the main thread, one call
// would stall every other request for that long. So they run in a worker
// thread, one per server, started on first use and ended by close().
// Calls queue in the worker and finish in order; the main thread only
// posts bytes and waits. ML-DSA and the KEMs (milliseconds) stay inline.
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { Code, KmsError } from '../errors';
import type { PqSignAlgorithm } from './pq-algorithms';
import type { PqSignInput } from './pq';

/** What the worker is asked: a signature, or fresh material. */
export type WorkerRequest =
  | { id: number; op: 'sign'; name: PqSignAlgorithm; material: Uint8Array; input: PqSignInput }
  | { id: number; op: 'generate'; name: PqSignAlgorithm };

export type WorkerReply = { id: number; ok: Uint8Array } | { id: number; error: { code: number; message: string } | null };

export class SlowPqWorker {
  #worker: Worker | undefined;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();

  sign(name: PqSignAlgorithm, material: Buffer, input: PqSignInput): Promise<Buffer> {
    return this.#call({ id: 0, op: 'sign', name, material, input });
  }

  generate(name: PqSignAlgorithm): Promise<Buffer> {
    return this.#call({ id: 0, op: 'generate', name });
  }

  /** Ends the worker; calls still waiting fail with UNAVAILABLE. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await worker.terminate();
    this.#failAll();
  }

  #call(request: WorkerRequest): Promise<Buffer> {
    const id = ++this.#next;
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#start().postMessage({ ...request, id });
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(path.join(__dirname, 'pq-worker-main.js'));
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.#settle(reply));
    // A worker that dies (out of memory, a bug) fails what it held; the next call starts a new one.
    worker.on('error', () => this.#lost(worker));
    worker.on('exit', () => this.#lost(worker));
    this.#worker = worker;
    return worker;
  }

  #settle(reply: WorkerReply): void {
    const waiter = this.#pending.get(reply.id);
    if (!waiter) return;
    this.#pending.delete(reply.id);
    if ('ok' in reply) waiter.resolve(Buffer.from(reply.ok));
    else if (reply.error) waiter.reject(new KmsError(reply.error.code, reply.error.message));
    else waiter.reject(new KmsError(Code.INTERNAL, 'Internal error encountered.'));
  }

  #lost(worker: Worker): void {
    if (this.#worker === worker) this.#worker = undefined;
    this.#failAll();
  }

  #failAll(): void {
    for (const waiter of this.#pending.values()) waiter.reject(new KmsError(Code.UNAVAILABLE, 'The signing worker stopped; retry the request.'));
    this.#pending.clear();
  }
}
