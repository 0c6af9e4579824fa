import { LOCALES, useI18n, type Locale } from '../i18n/i18n.js';

export function LanguageSwitch() {
  const { t, locale, setLocale } = useI18n();
  return (
    <label class="language">
      <span class="visually-hidden">{t('app.language')}</span>
      <select aria-label={t('app.language')} value={locale} onChange={(e) => setLocale(e.currentTarget.value as Locale)}>
        {LOCALES.map((l) => (
          <option key={l.id} value={l.id} lang={l.id}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}
