// The signed-in user's token, kept in localStorage so a reload stays signed in.
const TOKEN_KEY = 'openpan.token';

export function loadToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function saveToken(token: string): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private browsing without storage: the session lasts until the tab closes.
  }
}
