// Any thrown value as a sentence in the user's language.
import { ApiError } from '../api/client.js';
import { errorText, type Translate } from '../i18n/i18n.js';

export function describeError(t: Translate, err: unknown): string {
  if (err instanceof ApiError) return errorText(t, err.code, err.message);
  return err instanceof Error ? err.message : String(err);
}
