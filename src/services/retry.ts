import { Code, KmsError } from '../errors';

/**
 * Runs a read-modify-write again when the store reports that another writer
 * changed the record in between (ABORTED), a bounded number of times.
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof KmsError) || err.code !== Code.ABORTED || attempt >= attempts) throw err;
    }
  }
}
