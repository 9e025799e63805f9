/**
 * tracking/store/errors — MLflow's error codes and the HTTP statuses they map to.
 *
 * The server answers `{"error_code": code, "message": message}` with `httpStatus`, exactly as
 * MLflow does, so MLflow clients raise the same exceptions against Kiln.
 */
export type TrackingErrorCode =
  | 'INVALID_PARAMETER_VALUE'
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'INVALID_STATE'
  | 'BAD_REQUEST'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'ENDPOINT_NOT_FOUND'
  | 'INTERNAL_ERROR'
  | 'TEMPORARILY_UNAVAILABLE';

const STATUS: Record<TrackingErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_STATE: 400,
  BAD_REQUEST: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
};

export class TrackingError extends Error {
  readonly errorCode: TrackingErrorCode;

  constructor(errorCode: TrackingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrackingError';
    this.errorCode = errorCode;
  }

  get httpStatus(): number {
    return STATUS[this.errorCode];
  }

  toJSON(): { error_code: TrackingErrorCode; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const notFound = (message: string): TrackingError => new TrackingError('RESOURCE_DOES_NOT_EXIST', message);
export const invalid = (message: string): TrackingError => new TrackingError('INVALID_PARAMETER_VALUE', message);
export const alreadyExists = (message: string): TrackingError => new TrackingError('RESOURCE_ALREADY_EXISTS', message);
