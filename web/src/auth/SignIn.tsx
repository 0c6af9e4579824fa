// Sign in, or create an account (the server refuses with REGISTRATION_CLOSED when it is closed).
import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { useI18n } from '../i18n/i18n.js';
import { describeError } from '../ui/describe-error.js';
import { LanguageSwitch } from '../ui/LanguageSwitch.js';

export function SignIn({ api, onSignedIn }: { api: Api; onSignedIn(token: string): void }) {
  const { t } = useI18n();
  const [registering, setRegistering] = useState(false);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      const { token } = registering ? await api.register(name, password) : await api.login(name, password);
      onSignedIn(token);
    } catch (err) {
      setError(describeError(t, err));
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <form onSubmit={submit} class="card">
        <div class="brand">
          <img src="/favicon.svg" alt="" width={32} height={32} />
          <span>openpan</span>
        </div>
        <h1>{registering ? t('auth.registerTitle') : t('auth.title')}</h1>
        <label>
          {t('auth.name')}
          {/* biome-ignore lint/a11y/noAutofocus: the sign-in page is this one form; its first field is where everyone starts */}
          <input name="username" autoComplete="username" value={name} onInput={(e) => setName(e.currentTarget.value)} required autoFocus />
        </label>
        <label>
          {t('auth.password')}
          <input
            name="password"
            type="password"
            autoComplete={registering ? 'new-password' : 'current-password'}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {registering ? t('auth.register') : t('auth.signIn')}
        </button>
        <button
          type="button"
          class="link"
          onClick={() => {
            setRegistering(!registering);
            setError('');
          }}
        >
          {registering ? t('auth.toSignIn') : t('auth.toRegister')}
        </button>
        <LanguageSwitch />
      </form>
    </main>
  );
}
