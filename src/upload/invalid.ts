import { AppError } from '../errors.js';

/** The client's upload is malformed or no longer usable (400, docs/spec/UPLOAD.md). */
export function invalid(message: string): AppError {
  return new AppError('UPLOAD_INVALID', message);
}
