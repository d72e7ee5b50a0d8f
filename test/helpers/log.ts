// A logger for tests that must see what a server logs as an error (and
// nothing else): hostile input must never be an unexpected error.
import type { Logger } from '../../src/log';

export function capturingLogger(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  return { errors, logger: { info: () => undefined, error: (message, fields) => errors.push(`${message} ${JSON.stringify(fields)}`) } };
}
