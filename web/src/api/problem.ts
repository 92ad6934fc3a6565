// RFC 9457 problem+json parsing into a typed ApiError.

/** Every `code` the server may put in a problem document. */
export const PROBLEM_CODES = [
  'invalid_request',
  'malformed_json',
  'invalid_field',
  'invalid_email',
  'weak_password',
  'unsupported_media_type',
  'payload_too_large',
  'headers_too_large',
  'not_found',
  'method_not_allowed',
  'unauthenticated',
  'invalid_token',
  'token_expired',
  'invalid_credentials',
  'account_pending',
  'account_disabled',
  'forbidden',
  'csrf_failed',
  'invalid_refresh_token',
  'refresh_token_reused',
  'session_revoked',
  'invalid_mfa_token',
  'verification_token_invalid',
  'verification_token_unknown',
  'verification_token_expired',
  'verification_token_used',
  'invalid_code',
  'code_attempts_exceeded',
  'conflict',
  'last_login_method',
  'identity_already_linked',
  'social_cancelled',
  'social_provider_error',
  'social_state_invalid',
  'social_token_invalid',
  'social_link_required',
  'social_signup_closed',
  'reauthentication_required',
  'last_admin',
  'role_in_use',
  'rate_limited',
  'overloaded',
  'unavailable',
  'internal',
] as const;

export type ServerProblemCode = (typeof PROBLEM_CODES)[number];

/** Codes the client itself produces when there is no usable server answer. */
export const CLIENT_CODES = ['network', 'unknown'] as const;
export type ClientProblemCode = (typeof CLIENT_CODES)[number];

export type ProblemCode = ServerProblemCode | ClientProblemCode;

export function isServerProblemCode(value: unknown): value is ServerProblemCode {
  return typeof value === 'string' && (PROBLEM_CODES as readonly string[]).includes(value);
}

export interface ApiErrorInit {
  code: ProblemCode;
  status: number;
  title?: string;
  detail?: string;
  field?: string;
  retryAfter?: number;
  type?: string;
}

export class ApiError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly title?: string;
  readonly detail?: string;
  readonly field?: string;
  /** Seconds to wait before trying again (from the Retry-After header). */
  readonly retryAfter?: number;
  readonly type?: string;

  constructor(init: ApiErrorInit) {
    super(init.detail || init.title || init.code);
    this.name = 'ApiError';
    this.code = init.code;
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.field = init.field;
    this.retryAfter = init.retryAfter;
    this.type = init.type;
  }
}

/** The code used when the server sent no (known) code, judged by the status alone. */
export function codeForStatus(status: number): ProblemCode {
  if (status === 400) return 'invalid_request';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'internal';
  return 'unknown';
}

/**
 * Retry-After is either a number of seconds or an HTTP date (RFC 9110 §10.2.3).
 * Returns whole seconds from `nowMs`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Builds an ApiError from a non-2xx response; never throws. */
export async function problemFromResponse(response: Response, nowMs: number): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'), nowMs);
  let body: Record<string, unknown> | null = null;
  const contentType = response.headers.get('Content-Type') ?? '';
  if (/json/i.test(contentType)) {
    try {
      const parsed: unknown = await response.json();
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        body = parsed as Record<string, unknown>;
      }
    } catch {
      body = null;
    }
  }
  const code = isServerProblemCode(body?.code) ? body.code : codeForStatus(response.status);
  return new ApiError({
    code,
    status: response.status,
    title: optionalString(body?.title),
    detail: optionalString(body?.detail),
    field: optionalString(body?.field),
    type: optionalString(body?.type),
    retryAfter,
  });
}

/**
 * The error named by a `?error=<code>` query, as the server's social login redirects carry it
 * (an unknown code reads as a generic failure; nothing from the query is shown as such).
 */
export function errorFromQuery(code: string | null): ApiError | null {
  if (code === null) return null;
  return new ApiError({ code: isServerProblemCode(code) ? code : 'unknown', status: 0 });
}
