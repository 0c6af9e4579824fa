// Language choice (from navigator.language, switchable, remembered) and message lookup.
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { en, type MessageKey } from './en';
import { zhCN } from './zh-CN';

export type Locale = 'en' | 'zh-CN';
export const LOCALES: Array<{ id: Locale; label: string }> = [
  { id: 'en', label: 'English' },
  { id: 'zh-CN', label: '简体中文' },
];

const LOCALE_KEY = 'openpan.locale';
const MESSAGES: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: Params) => string;

/** Any Chinese browser language gets zh-CN (the only Chinese we have); everything else English. */
export function localeFor(languages: readonly string[]): Locale {
  for (const lang of languages) {
    const l = lang.toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export function translate(locale: Locale, key: MessageKey, params: Params = {}): string {
  const template = MESSAGES[locale][key] ?? en[key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The message for an API error code if there is one, else the server's own sentence. */
export function errorText(t: Translate, code: string, fallback: string): string {
  const key = `error.${code}`;
  return key in en ? t(key as MessageKey) : fallback || code;
}

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
