import { describe, expect, it } from 'vitest';
import { describeDetails, localToRfc3339 } from './AuditPage';
import { newUserBody } from './CreateUserPage';
import { profilePatch } from './UserPage';
import { nextSort } from './UsersPage';

const USER = {
  id: 'u1', email: 'a@example.com', name: 'A', status: 'active' as const, email_verified: false, phone: '+821012345678',
  phone_verified: true, roles: ['user'], has_password: true, created_at: '', updated_at: '',
};

describe('profilePatch', () => {
  const same = { name: 'A', email: 'a@example.com', phone: '+821012345678', verified: false };
  it('is empty when nothing changed (case of the address and spaces ignored)', () => {
    expect(profilePatch(USER, { ...same, name: ' A ', email: 'A@Example.com' })).toEqual({});
  });
  it('carries only the changed fields; "" removes the phone', () => {
    expect(profilePatch(USER, { ...same, name: 'B', phone: '' })).toEqual({ name: 'B', phone: '' });
    expect(profilePatch(USER, { ...same, verified: true })).toEqual({ email_verified: true });
  });
  it('a new address counts as verified unless the box is cleared', () => {
    expect(profilePatch(USER, { ...same, email: 'b@example.com', verified: true })).toEqual({ email: 'b@example.com' });
    expect(profilePatch(USER, { ...same, email: 'b@example.com', verified: false })).toEqual({
      email: 'b@example.com',
      email_verified: false,
    });
  });
});

describe('newUserBody', () => {
  const base = { email: ' n@example.com ', name: '', password: 'secret secret', verified: false, invite: true, roles: [] };
  it('an invite carries no password; roles default to user', () => {
    expect(newUserBody(base)).toEqual({ email: 'n@example.com', roles: ['user'], send_invite: true });
  });
  it('a password account, verified, with a name and roles', () => {
    expect(newUserBody({ ...base, invite: false, verified: true, name: ' Nam ', roles: ['admin'] })).toEqual({
      email: 'n@example.com', roles: ['admin'], password: 'secret secret', email_verified: true, name: 'Nam',
    });
  });
});

describe('audit helpers', () => {
  it('turn a local date-time into RFC 3339 UTC, and nothing into nothing', () => {
    expect(localToRfc3339('')).toBe('');
    expect(localToRfc3339('not a date')).toBe('');
    expect(localToRfc3339('2026-12-01T10:30')).toMatch(/^2026-12-0[12]T\d\d:30:00Z$/);
  });
  it('describe admin changes field by field, other details as JSON', () => {
    expect(describeDetails({ changes: { name: { before: 'A', after: 'B' }, roles: { before: ['user'], after: ['admin'] } } })).toEqual([
      'name: "A" → "B"',
      'roles: ["user"] → ["admin"]',
    ]);
    expect(describeDetails({ method: 'totp' })).toEqual(['{"method":"totp"}']);
    expect(describeDetails({})).toEqual([]);
    expect(describeDetails(null)).toEqual([]);
  });
});

describe('nextSort', () => {
  it('sorts a new column ascending, then flips it', () => {
    expect(nextSort('created_at', 'email')).toBe('email');
    expect(nextSort('email', 'email')).toBe('-email');
    expect(nextSort('-email', 'email')).toBe('email');
    expect(nextSort('-email', 'name')).toBe('name');
  });
});
