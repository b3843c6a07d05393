import { TransportError } from '../../lib/transport/errors.js';

/** The TransportError a promise rejects with; throws if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  const result = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in result)) throw new Error('expected a rejection');
  if (!(result.error instanceof TransportError)) throw result.error;
  return result.error;
}
