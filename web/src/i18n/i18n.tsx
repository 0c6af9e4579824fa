// Language choice (from navigator.language, switchable, remembered) for the components.
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { localeFor, translate, type Locale, type Translate } from './translate.js';

export { LOCALES, errorText, type Locale, type Translate } from './translate.js';

const LOCALE_KEY = 'openpan.locale';

function initialLocale(): Locale {
  try {
    const saved = localStorage.getItem(LOCALE_KEY);
    if (saved === 'en' || saved === 'zh-CN') return saved;
  } catch {
    // no storage: fall through to the browser's languages
  }
  return localeFor(navigator.languages?.length ? navigator.languages : [navigator.language]);
}

interface I18n {
  locale: Locale;
  setLocale(locale: Locale): void;
  t: Translate;
}

const I18nContext = createContext<I18n>({ locale: 'en', setLocale: () => {}, t: (key, params) => translate('en', key, params) });

export function I18nProvider({ children }: { children: ComponentChildren }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const value = useMemo<I18n>(
    () => ({
      locale,
      setLocale(next) {
        setLocaleState(next);
        try {
          localStorage.setItem(LOCALE_KEY, next);
        } catch {
          // not remembered; still switched
        }
      },
      t: (key, params) => translate(locale, key, params),
    }),
    [locale],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}
