// The administration API (`/api/admin/*`, docs/api.md "Administration") over the app's one
// client: the same bearer token, CSRF header, refresh on a stale token and problem mapping.
//
// Two answers matter to every admin page: `403 forbidden` (the caller lacks the permission: the
// page says "not allowed") and `401 reauthentication_required` (a destructive action needs a
// recent password sign-in: see pages/admin/Reauth.tsx, which signs in again and retries).

import type { ApiClient, SessionInfo } from './client';
import { ApiError } from './problem';

export const PERMISSIONS = [
  'users:read',
  'users:write',
  'users:delete',
  'sessions:revoke',
  'audit:read',
  'roles:write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export type UserStatus = 'pending' | 'active' | 'disabled';
export const USER_STATUSES: readonly UserStatus[] = ['pending', 'active', 'disabled'];

export const USER_SORTS = ['created_at', '-created_at', 'email', '-email', 'name', '-name'] as const;
export type UserSort = (typeof USER_SORTS)[number];

export interface AdminUser {
  id: string;
  email: string;
  name: string;
  status: UserStatus;
  email_verified: boolean;
  /** E.164, or "" when none. */
  phone: string;
  phone_verified: boolean;
  roles: string[];
  has_password: boolean;
  created_at: string;
  updated_at: string;
}

export interface AdminIdentity {
  provider: string;
  subject: string;
  email: string;
  linked_at: string;
}

export interface AdminUserDetail extends AdminUser {
  factors: { totp: boolean; recovery_codes_left: number; sms: boolean };
  sessions_count: number;
  identities: AdminIdentity[];
}

/** The filters of the users table; empty strings mean "any". */
export interface UserQuery {
  q?: string;
  status?: UserStatus | '';
  role?: string;
  verified?: 'true' | 'false' | '';
  sort?: UserSort;
  limit?: number;
  cursor?: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface NewUser {
  email: string;
  name?: string;
  password?: string;
  roles?: string[];
  email_verified?: boolean;
  send_invite?: boolean;
}

export type UserPatch = Partial<Pick<AdminUser, 'name' | 'email' | 'phone' | 'email_verified' | 'roles'>> & {
  status?: 'active' | 'disabled';
};

export interface Role {
  name: string;
  permissions: string[];
  builtin: boolean;
  users: number;
}

export interface AuditEvent {
  id: string;
  time: string;
  type: string;
  outcome: string;
  actor_id: string;
  subject_id: string;
  ip: string;
  user_agent: string;
  details: unknown;
}

export interface AuditQuery {
  user?: string;
  actor?: string;
  type?: string;
  /** RFC 3339, inclusive. */
  since?: string;
  /** RFC 3339, exclusive. */
  until?: string;
  limit?: number;
  cursor?: string | null;
}

/** Event types the server records (docs/api.md), offered by the audit filter. */
export const AUDIT_TYPES = [
  'signup',
  'email.verified',
  'email.changed',
  'email.change_requested',
  'email.verify',
  'login',
  'login.throttled',
  'login.second_factor',
  'refresh.reuse_detected',
  'logout',
  'logout.all',
  'password.changed',
  'password.reset_requested',
  'password.reset',
  'phone.verified',
  'phone.removed',
  'mfa.totp_enabled',
  'mfa.totp_disabled',
  'mfa.recovery_codes_regenerated',
  'account.deleted',
  'admin.user.created',
  'admin.user.updated',
  'admin.user.deleted',
  'admin.user.sessions_revoked',
  'admin.user.mfa_reset',
  'admin.user.password_reset_sent',
  'admin.users.imported',
  'admin.role.created',
  'admin.role.updated',
  'admin.role.deleted',
] as const;

/** `?a=1&b=2` from the non-empty values, in the given order ("" when there are none). */
export function queryString(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function usersPath(query: UserQuery): string {
  return `/api/admin/users${queryString({
    q: query.q?.trim(),
    status: query.status,
    role: query.role,
    verified: query.verified,
    sort: query.sort && query.sort !== 'created_at' ? query.sort : undefined,
    limit: query.limit,
    cursor: query.cursor,
  })}`;
}

export function auditPath(query: AuditQuery): string {
  return `/api/admin/audit${queryString({
    user: query.user?.trim(),
    actor: query.actor?.trim(),
    type: query.type,
    since: query.since,
    until: query.until,
    limit: query.limit,
    cursor: query.cursor,
  })}`;
}

const userPath = (id: string) => `/api/admin/users/${encodeURIComponent(id)}`;
const rolePath = (name: string) => `/api/admin/roles/${encodeURIComponent(name)}`;

function malformed(what: string): ApiError {
  return new ApiError({ code: 'internal', status: 200, detail: `malformed ${what}` });
}

function readPage<T>(body: Record<string, unknown> | undefined, key: string): Page<T> {
  const items = body?.[key];
  if (!Array.isArray(items)) throw malformed(`${key} page`);
  const next = body?.next_cursor;
  return { items: items as T[], nextCursor: typeof next === 'string' && next !== '' ? next : null };
}

/** True when the caller's roles may give some admin permission (the server decides the rest). */
export function mayAdminister(roles: readonly string[] | undefined): boolean {
  return (roles ?? []).some((role) => role !== 'user');
}

export function adminApi(client: ApiClient) {
  return {
    async listUsers(query: UserQuery): Promise<Page<AdminUser>> {
      return readPage<AdminUser>(await client.request('GET', usersPath(query)), 'users');
    },
    createUser: (input: NewUser) => client.request<AdminUser>('POST', '/api/admin/users', { body: input }),
    getUser: (id: string) => client.request<AdminUserDetail>('GET', userPath(id)),
    updateUser: (id: string, patch: UserPatch) => client.request<AdminUser>('PATCH', userPath(id), { body: patch }),
    deleteUser: (id: string) => client.request<void>('DELETE', userPath(id)),
    async revokeSessions(id: string): Promise<number> {
      const body = await client.request<{ revoked?: unknown }>('POST', `${userPath(id)}/sessions/revoke`, { body: {} });
      return typeof body?.revoked === 'number' ? body.revoked : 0;
    },
    async userSessions(id: string): Promise<SessionInfo[]> {
      const body = await client.request<{ sessions?: unknown }>('GET', `${userPath(id)}/sessions`);
      if (!Array.isArray(body?.sessions)) throw malformed('sessions');
      return body.sessions as SessionInfo[];
    },
    revokeSession: (id: string, sessionId: string) =>
      client.request<void>('DELETE', `${userPath(id)}/sessions/${encodeURIComponent(sessionId)}`),
    resetMfa: (id: string) => client.request<void>('POST', `${userPath(id)}/mfa/reset`, { body: {} }),
    sendPasswordReset: (id: string) => client.request<void>('POST', `${userPath(id)}/password-reset`, { body: {} }),

    async roles(): Promise<{ roles: Role[]; permissions: string[] }> {
      const body = await client.request<{ roles?: unknown; permissions?: unknown }>('GET', '/api/admin/roles');
      if (!Array.isArray(body?.roles)) throw malformed('roles');
      return {
        roles: body.roles as Role[],
        permissions: Array.isArray(body.permissions) ? (body.permissions as string[]) : [...PERMISSIONS],
      };
    },
    createRole: (name: string, permissions: string[]) =>
      client.request<Role>('POST', '/api/admin/roles', { body: { name, permissions } }),
    updateRole: (name: string, permissions: string[]) =>
      client.request<Role>('PATCH', rolePath(name), { body: { permissions } }),
    deleteRole: (name: string) => client.request<void>('DELETE', rolePath(name)),

    async audit(query: AuditQuery): Promise<Page<AuditEvent>> {
      return readPage<AuditEvent>(await client.request('GET', auditPath(query)), 'events');
    },
  };
}

export type AdminApi = ReturnType<typeof adminApi>;
