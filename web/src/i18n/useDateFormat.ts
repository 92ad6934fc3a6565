import { useCallback } from 'react';
import { useI18n } from './I18nProvider';

/** Formats an ISO timestamp as a medium date and short time in the page's language. */
export function useDateFormat() {
  const { lang } = useI18n();
  return useCallback(
    (iso: string | undefined) => {
      if (!iso) return '—';
      const date = new Date(iso);
      if (Number.isNaN(date.getTime())) return iso;
      return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
    },
    [lang],
  );
}
