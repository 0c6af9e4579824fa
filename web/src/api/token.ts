// The signed-in user's token as localStorage keeps it: read here by whatever needs to know
// whether a session is open, written only by session.ts (which also ends what a session leaves).

export const TOKEN_KEY = 'openpan.token';

export function loadToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}
