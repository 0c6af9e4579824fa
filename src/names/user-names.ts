import { AppError } from '../errors.js';

// User names as people type them: "boss", "Boss" and "ｂｏｓｓ" (full width) are one name.
// A name is stored in NFKC (full-width letters become ASCII, ligatures letters) with its case;
// uniqueness and logins compare its key, the NFKC form case-folded.

const NAME_RE = /^[\p{L}\p{N}_.@-]{1,64}$/u;

/** A user name as stored: NFKC, case kept. */
export function normalizeUserName(name: string): string {
  return name.normalize('NFKC');
}

/** What two names must not share: NFKC, then case-folded (upper then lower folds "ß" to "ss"). */
export function userNameKey(name: string): string {
  return normalizeUserName(name).toUpperCase().toLowerCase().normalize('NFKC');
}

/** Whether a name (as typed) could be an account's: 1–64 letters, digits, `_`, `.`, `@` or `-` once normalised. */
export function isUserNameShaped(name: string): boolean {
  return NAME_RE.test(normalizeUserName(name));
}

/** The name to store, or BAD_REQUEST saying what a name may be. */
export function checkUserName(name: string): string {
  const normalized = normalizeUserName(name);
  if (!NAME_RE.test(normalized)) throw new AppError('BAD_REQUEST', 'name must be 1-64 letters, digits, "_", ".", "@" or "-".');
  return normalized;
}
