/**
 * serve/errors — the API's client errors: an HTTP status and a stable code, answered as
 * `{"error": {"code", "message"}}`.
 */
export class ServeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServeError';
  }
}

export const badRequest = (code: string, message: string): ServeError => new ServeError(400, code, message);
