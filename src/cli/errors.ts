import { ApiError } from './api-client.js';
import { UsageError } from './args.js';

/** A failure the user can act on; `main` prints the message and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** What the CLI prints on stderr for an error, and the exit code it ends with. */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UsageError) return { message: err.message, exitCode: 2 };
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof ApiError) {
    const where = err.status ? `${err.code}, HTTP ${err.status}` : err.code;
    return { message: `${err.message} (${where})`, exitCode: 1 };
  }
  // The server's own errors, when admin commands call the services directly.
  const app = err as { name?: string; code?: unknown; message?: string };
  if (app?.name === 'AppError' && typeof app.code === 'string') return { message: `${app.message} (${app.code})`, exitCode: 1 };
  const fsCode = (err as NodeJS.ErrnoException)?.code;
  if (typeof fsCode === 'string' && (err as NodeJS.ErrnoException).syscall) return { message: (err as Error).message, exitCode: 1 };
  return { message: err instanceof Error ? (err.stack ?? err.message) : String(err), exitCode: 1 };
}
