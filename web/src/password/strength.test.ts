import { describe, expect, it } from 'vitest';
import { passwordStrength } from './strength';

describe('passwordStrength', () => {
  it('rates short, common, repeated and sequential passwords as too weak', () => {
    expect(passwordStrength('Ab1!')).toBe(0);
    expect(passwordStrength('password')).toBe(0);
    expect(passwordStrength('aaaaaaaaaaaa')).toBe(0);
    expect(passwordStrength('abcdefghij')).toBe(0);
    expect(passwordStrength('987654321')).toBe(0);
  });

  it('rates long varied passwords as strong', () => {
    expect(passwordStrength('correct horse battery staple')).toBe(4);
    expect(passwordStrength('바다 위의 고양이 세 마리')).toBe(4);
  });

  it('rates in-between passwords in between', () => {
    const score = passwordStrength('summer2024');
    expect(score).toBeGreaterThanOrEqual(1);
    expect(score).toBeLessThanOrEqual(2);
  });

  it('caps passwords that contain the name or e-mail', () => {
    expect(passwordStrength('Adalovelace!2026xyz')).toBeGreaterThan(1);
    expect(passwordStrength('Adalovelace!2026xyz', ['adalovelace'])).toBe(1);
  });
});
