// A rough, local password strength hint. The server's policy (zxcvbn and a blocklist) is the
// one that decides; this only helps people pick a good password before they submit.

export const MIN_PASSWORD_LENGTH = 8;

export type StrengthScore = 0 | 1 | 2 | 3 | 4;

const COMMON = new Set([
  'password', 'password1', 'passw0rd', '12345678', '123456789', '1234567890', 'qwerty123',
  'qwertyuiop', 'iloveyou', 'letmein1', 'admin123', 'welcome1', 'abc12345', '11111111',
  'sunshine', 'princess', 'football', 'baseball', 'dragon12', 'monkey12', 'latchkey',
]);

function isRepetitiveOrSequential(chars: string[]): boolean {
  if (new Set(chars).size <= 2) return true;
  let ascending = 0;
  let descending = 0;
  for (let i = 1; i < chars.length; i++) {
    const diff = chars[i].codePointAt(0)! - chars[i - 1].codePointAt(0)!;
    if (diff === 1) ascending++;
    if (diff === -1) descending++;
  }
  return ascending >= chars.length - 2 || descending >= chars.length - 2;
}

/** Scores 0 (too weak) .. 4 (strong). `related` are strings the password should not contain. */
export function passwordStrength(password: string, related: string[] = []): StrengthScore {
  const chars = Array.from(password);
  if (chars.length < MIN_PASSWORD_LENGTH) return 0;
  const lower = password.toLowerCase();
  if (COMMON.has(lower) || isRepetitiveOrSequential(chars)) return 0;

  let pool = 0;
  if (/[a-z]/.test(password)) pool += 26;
  if (/[A-Z]/.test(password)) pool += 26;
  if (/[0-9]/.test(password)) pool += 10;
  if (/[^A-Za-z0-9]/.test(password)) pool += 33;
  // Non-ASCII letters (Hangul and others) come from a much larger alphabet.
  if (/[^\u0000-\u007f]/.test(password)) pool += 100;
  // Repeated characters add little: count at most two uses of each distinct character.
  const effectiveLength = Math.min(chars.length, new Set(chars).size * 2);
  const bits = effectiveLength * Math.log2(Math.max(pool, 2));

  let score: StrengthScore = bits < 36 ? 1 : bits < 60 ? 2 : bits < 80 ? 3 : 4;
  for (const item of related) {
    const part = item.trim().toLowerCase();
    if (part.length >= 3 && lower.includes(part)) score = Math.min(score, 1) as StrengthScore;
  }
  return score;
}
