/** A deliberately loose e-mail shape check; the server decides what is valid. */
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const MAX_NAME_LENGTH = 100;

/** A mailed verification code: six ASCII digits. */
export const CODE_PATTERN = /^[0-9]{6}$/;

/**
 * What people type or paste for a code: "123 456", "123-456", or full-width digits from a
 * Korean or Japanese input method all mean 123456.
 */
export function normalizeCode(value: string): string {
  return value.normalize('NFKC').replace(/[\s-]/g, '');
}
