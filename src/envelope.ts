// The 6pan v1 answer envelope. Shared by the HTTP layer and the upload service, whose answers
// carry the envelope of the created file as a string (docs/spec/UPLOAD.md), so it lives outside http/.
import type { ErrorCode } from './errors.js';

export interface SuccessEnvelope<T> {
  status: 200;
  success: true;
  code: 'OK';
  result: T;
  token: string;
}

export interface FailureEnvelope {
  status: number;
  success: false;
  code: ErrorCode;
  message: string;
  /** null, or what the error's code documents (e.g. TASK_EXISTS: the existing task's id). */
  result: Readonly<Record<string, string | number>> | null;
}

export function ok<T>(result: T, token: string): SuccessEnvelope<T> {
  return { status: 200, success: true, code: 'OK', result, token };
}

export function failure(status: number, code: ErrorCode, message: string, details: FailureEnvelope['result'] = null): FailureEnvelope {
  return { status, success: false, code, message, result: details };
}
