// The signed-in user's token, kept in localStorage so a reload stays signed in.
import { forgetAllUploads } from '../upload/resume-store.js';
import { TOKEN_KEY } from './token.js';

export { loadToken } from './token.js';

/** Keeps the session's token; an empty one ends the session (sign-out, or refused by the server). */
export function saveToken(token: string): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private browsing without storage: the session lasts until the tab closes.
  }
  // What the session left in this browser ends with it: each resumable-upload record holds an
  // upload token that lets whoever has it upload into this user's drive for a day.
  if (!token) forgetAllUploads();
}
