// The one API client of the web app.
//
// Invariants (checked by client.test.ts):
// - The access token lives only in this module's memory (a closure variable of the client);
//   it is never written to localStorage, sessionStorage or a cookie. The refresh token is an
//   HttpOnly cookie that this code never sees.
// - Every state-changing request carries X-CSRF-Token when the CSRF cookie is readable.
// - At most one refresh is in flight per tab; concurrent callers share it. Tabs announce a
//   refresh on a BroadcastChannel (and hold a Web Lock when the browser has them) so that two
//   tabs never present the same rotating refresh cookie at once, which the server would treat
//   as reuse and answer by revoking the whole session family.
// - A 401 caused by the access token triggers one refresh and one retry, never a loop.

import { ApiError, problemFromResponse } from './problem';

export { ApiError } from './problem';

/** Cookie names set by the server; the `__Host-` ones are used over https. */
export const CSRF_COOKIE_NAMES = ['__Host-latchkey_csrf', 'latchkey_csrf'] as const;
export const CSRF_HEADER = 'X-CSRF-Token';
export const CHANNEL_NAME = 'latchkey-auth';
export const LOCK_NAME = 'latchkey-refresh';

/** How long a tab waits for a peer tab's announced refresh before doing its own. */
const PEER_REFRESH_WAIT_MS = 5000;
/** Retry delay for a background refresh that failed for a transient reason. */
const BACKGROUND_RETRY_MS = 15000;

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
}

export interface User {
  id: string;
  email: string;
  name: string;
  state: string;
  email_verified: boolean;
  roles: string[];
  created_at: string;
  /** E.164, or null when the account has no number. */
  phone?: string | null;
  phone_verified?: boolean;
}

/** Ways to pass the second step of a login. */
export type MfaMethod = 'totp' | 'recovery_code' | 'sms';

/**
 * The second step of a login. `mfa_token` must only ever live in React state (or a local
 * variable): it is never written to storage, the URL or a cookie.
 */
export interface MfaChallenge {
  mfa_token: string;
  methods: MfaMethod[];
  expires_in: number;
}

/** A login either finished (the client holds the token) or needs a second factor. */
export type LoginResult = { status: 'signed-in' } | { status: 'mfa-required'; challenge: MfaChallenge };

export interface MfaStatus {
  totp: boolean;
  sms: boolean;
  recovery_codes_left: number;
}

export interface TotpEnrolment {
  secret: string;
  otpauth_uri: string;
  /** Server-made SVG markup; show it only as an image (see svgDataUrl), never as HTML. */
  qr_svg: string;
}

export interface PhoneResult {
  status?: string;
  phone: string;
  phone_verified?: boolean;
}

export interface SessionInfo {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string;
  user_agent: string;
  current: boolean;
}

/** A social login provider offered by the server (`GET /api/auth/providers`). */
export interface Provider {
  id: string;
  /** The provider's protocol or family (e.g. "oidc", "github"). */
  kind: string;
  name: string;
}

/** A social account linked to the user (`GET /api/me/identities`). */
export interface LinkedIdentity {
  id: string;
  provider: string;
  provider_name: string;
  email: string;
  created_at: string;
}

/**
 * Where the browser goes (full-page navigation) to log in with a provider. The server sends it
 * back to `returnTo` when it succeeds, or to /login?error=<code> when it does not.
 */
export function socialStartUrl(providerId: string, returnTo: string, baseUrl = ''): string {
  return `${baseUrl}/api/auth/social/${encodeURIComponent(providerId)}/start?return_to=${encodeURIComponent(returnTo)}`;
}

function isProvider(value: unknown): value is Provider {
  if (!value || typeof value !== 'object') return false;
  const p = value as Record<string, unknown>;
  return typeof p.id === 'string' && p.id !== '' && typeof p.name === 'string' && typeof p.kind === 'string';
}

export interface SignupResult {
  status: string;
  /** False when the server lets new accounts sign in without confirming the address. */
  verification_required?: boolean;
  message?: string;
}

/** `202` answers that never tell whether the address has an account. */
export interface AcceptedResult {
  status: string;
  message?: string;
}

export type VerificationPurpose = 'verify_email' | 'change_email';

/** Proof of an address: the token from the mailed link, or the address and its 6-digit code. */
export type VerifyEmailInput = { token: string } | { email: string; code: string };

export interface VerifyEmailResult {
  status: string;
  /** The address that is now confirmed (for a change of address: the new one). */
  email: string;
  purpose: VerificationPurpose;
  /**
   * True when the server also signed the user in (`signup.login_after_verification`): the
   * access token is then held by the client like after a login, never handed to the caller.
   */
  signedIn: boolean;
}

export interface PasswordResetResult {
  status: string;
  message?: string;
}

export interface EmailChangeResult {
  status: string;
  /** The normalised new address the link went to. */
  pending_email: string;
  message?: string;
}

export type AuthState = 'unknown' | 'signed-in' | 'signed-out';

/** Why the auth state changed; lets the UI tell "you signed out elsewhere" from a failed refresh. */
export type AuthChangeReason =
  | 'login'
  | 'refresh'
  | 'logout'
  | 'peer-login'
  | 'peer-logout'
  | 'expired'
  /** The server refused the session because the account was disabled (account_disabled). */
  | 'disabled';

export type AuthListener = (state: AuthState, reason: AuthChangeReason) => void;

/** The subset of BroadcastChannel the client uses, so tests can pass a fake. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  close(): void;
}

/** The subset of navigator.locks the client uses. */
export interface LocksLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export interface ClientOptions {
  fetch?: typeof fetch;
  now?: () => number;
  /** Returns the value of a readable cookie, or undefined. */
  readCookie?: (name: string) => string | undefined;
  /** null disables cross-tab coordination. */
  channel?: ChannelLike | null;
  locks?: LocksLike | null;
  /** Random delay added to the scheduled refresh so tabs do not all wake at once. */
  jitterMs?: () => number;
  baseUrl?: string;
}

type Message =
  | { type: 'refreshing'; from: string }
  | { type: 'refresh-done'; from: string }
  | { type: 'token'; from: string; token: string; expiresAt: number; login: boolean }
  | { type: 'signed-out'; from: string };

type RefreshOutcome = 'ok' | 'signed-out' | 'failed';

interface RequestOptions {
  body?: unknown;
  /** Send the bearer token and refresh on 401 (default true). */
  auth?: boolean;
}

export function readDocumentCookie(name: string): string | undefined {
  if (typeof document === 'undefined') return undefined;
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
  }
  return undefined;
}

function defaultChannel(): ChannelLike | null {
  return typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL_NAME);
}

function defaultLocks(): LocksLike | null {
  const nav = typeof navigator === 'undefined' ? undefined : navigator;
  const locks = nav && 'locks' in nav ? (nav.locks as LockManager | undefined) : undefined;
  if (!locks) return null;
  return { request: <T,>(name: string, callback: () => Promise<T>) => locks.request(name, callback) as Promise<T> };
}

function newTabId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  return Math.random().toString(36).slice(2);
}

const MFA_METHODS: readonly MfaMethod[] = ['totp', 'recovery_code', 'sms'];

function readChallenge(body: Partial<MfaChallenge>): MfaChallenge {
  if (typeof body.mfa_token !== 'string' || body.mfa_token === '') {
    throw new ApiError({ code: 'internal', status: 200, detail: 'malformed mfa challenge' });
  }
  const offered = Array.isArray(body.methods) ? body.methods : [];
  const methods = MFA_METHODS.filter((m) => offered.includes(m));
  return {
    mfa_token: body.mfa_token,
    methods: methods.length > 0 ? methods : ['totp', 'recovery_code'],
    expires_in: typeof body.expires_in === 'number' ? body.expires_in : 0,
  };
}

/**
 * A data: URL that shows server-made SVG as an image: an <img> never runs scripts or loads
 * anything the SVG refers to, unlike markup inserted into the page.
 */
export function svgDataUrl(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

/**
 * Codes of a 401 that mean "the access token is missing, stale or its session has ended": worth
 * one refresh. When the session really has ended the refresh fails too and the tab signs out.
 */
const REFRESHABLE_CODES = new Set(['unauthenticated', 'invalid_token', 'token_expired', 'session_revoked']);

/** How long before expiry the background refresh runs. */
export function refreshLeadMs(ttlMs: number): number {
  return Math.min(60_000, Math.max(5_000, ttlMs * 0.2));
}

export function createApiClient(options: ClientOptions = {}) {
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const now = options.now ?? (() => Date.now());
  const readCookie = options.readCookie ?? readDocumentCookie;
  const channel = options.channel === undefined ? defaultChannel() : options.channel;
  const locks = options.locks === undefined ? defaultLocks() : options.locks;
  const jitterMs = options.jitterMs ?? (() => Math.floor(Math.random() * 2000));
  const baseUrl = options.baseUrl ?? '';
  const tabId = newTabId();

  // --- in-memory token state (never persisted) ---
  let accessToken: string | null = null;
  let expiresAt = 0;
  let issuedTtlMs = 0;
  let generation = 0;
  let state: AuthState = 'unknown';
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<RefreshOutcome> | null = null;
  let initPromise: Promise<AuthState> | null = null;
  let lastRefreshError: ApiError | null = null;
  let peerRefresh: { until: number; done: Promise<void>; resolve: () => void } | null = null;
  const listeners = new Set<AuthListener>();

  function setState(next: AuthState, reason: AuthChangeReason) {
    const changed = next !== state;
    state = next;
    if (changed || reason === 'login' || reason === 'peer-login') {
      for (const listener of [...listeners]) listener(next, reason);
    }
  }

  function post(message: Message) {
    channel?.postMessage(message);
  }

  function clearTimer() {
    if (refreshTimer !== undefined) clearTimeout(refreshTimer);
    refreshTimer = undefined;
  }

  function schedule(delayMs: number) {
    clearTimer();
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      void backgroundRefresh();
    }, Math.max(0, delayMs));
  }

  function setToken(token: string, until: number) {
    accessToken = token;
    expiresAt = until;
    issuedTtlMs = Math.max(0, until - now());
    generation += 1;
    schedule(until - now() - refreshLeadMs(issuedTtlMs) + jitterMs());
  }

  function clearToken() {
    accessToken = null;
    expiresAt = 0;
    generation += 1;
    clearTimer();
  }

  function expiringSoon(): boolean {
    return accessToken !== null && now() >= expiresAt - 5_000;
  }

  function csrfToken(): string | undefined {
    for (const name of CSRF_COOKIE_NAMES) {
      const value = readCookie(name);
      if (value) return value;
    }
    return undefined;
  }

  function resolvePeerRefresh() {
    if (peerRefresh) {
      peerRefresh.resolve();
      peerRefresh = null;
    }
  }

  function onMessage(event: MessageEvent) {
    const message = event.data as Message | null;
    if (!message || typeof message !== 'object' || message.from === tabId) return;
    switch (message.type) {
      case 'refreshing': {
        resolvePeerRefresh();
        let resolve: () => void = () => {};
        const done = new Promise<void>((r) => (resolve = r));
        peerRefresh = { until: now() + PEER_REFRESH_WAIT_MS, done, resolve };
        break;
      }
      case 'refresh-done':
        resolvePeerRefresh();
        break;
      case 'token':
        if (typeof message.token === 'string' && message.expiresAt > now()) {
          setToken(message.token, message.expiresAt);
          setState('signed-in', message.login ? 'peer-login' : 'refresh');
        }
        resolvePeerRefresh();
        break;
      case 'signed-out':
        resolvePeerRefresh();
        clearToken();
        setState('signed-out', 'peer-logout');
        break;
    }
  }
  channel?.addEventListener('message', onMessage);

  function acceptTokenResponse(body: TokenResponse, login: boolean) {
    if (!body || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw new ApiError({ code: 'internal', status: 200, detail: 'malformed token response' });
    }
    const until = now() + body.expires_in * 1000;
    setToken(body.access_token, until);
    post({ type: 'token', from: tabId, token: body.access_token, expiresAt: until, login });
  }

  async function rawFetch(method: string, path: string, body: unknown, bearer: string | null) {
    const headers: Record<string, string> = {
      Accept: 'application/json, application/problem+json',
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (method !== 'GET' && method !== 'HEAD') {
      const csrf = csrfToken();
      if (csrf) headers[CSRF_HEADER] = csrf;
    }
    try {
      return await doFetch(baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      });
    } catch (cause) {
      throw new ApiError({
        code: 'network',
        status: 0,
        detail: cause instanceof Error ? cause.message : String(cause),
      });
    }
  }

  async function readBody<T>(response: Response): Promise<T> {
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError({ code: 'internal', status: response.status, detail: 'response is not JSON' });
    }
  }

  // --- refresh ---

  async function withLock<T>(fn: () => Promise<T>): Promise<T> {
    return locks ? locks.request(LOCK_NAME, fn) : fn();
  }

  async function waitForPeer() {
    const peer = peerRefresh;
    if (!peer) return;
    const remaining = peer.until - now();
    if (remaining <= 0) {
      if (peerRefresh === peer) peerRefresh = null;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([peer.done, new Promise<void>((r) => (timer = setTimeout(r, remaining)))]);
    clearTimeout(timer);
    if (peerRefresh === peer) peerRefresh = null;
  }

  async function performRefresh(startGeneration: number): Promise<RefreshOutcome> {
    // A peer tab announced a refresh: let it finish and share its token.
    await waitForPeer();
    if (generation !== startGeneration && accessToken && !expiringSoon()) return 'ok';
    return withLock(async () => {
      // Someone else refreshed while this tab waited for the lock.
      if (generation !== startGeneration && accessToken && !expiringSoon()) return 'ok';
      post({ type: 'refreshing', from: tabId });
      let announcedResult = false;
      try {
        const response = await rawFetch('POST', '/api/auth/refresh', { mode: 'cookie' }, null);
        if (response.ok) {
          acceptTokenResponse(await readBody<TokenResponse>(response), false);
          announcedResult = true;
          setState('signed-in', 'refresh');
          return 'ok';
        }
        const problem = await problemFromResponse(response, now());
        if (response.status === 401 || response.status === 403 || response.status === 400) {
          // A sign-in (login, or e-mail verification that signs in) finished while this refresh
          // was on its way without the new cookie: its token is newer than this refusal.
          if (generation !== startGeneration && accessToken && !expiringSoon()) return 'ok';
          // The session is gone (or was never there): this tab is signed out. Other tabs find
          // out on their own next refresh; a failed refresh is not a logout of theirs.
          clearToken();
          setState('signed-out', problem.code === 'account_disabled' ? 'disabled' : 'expired');
          return 'signed-out';
        }
        lastRefreshError = problem;
        return 'failed';
      } catch (error) {
        lastRefreshError = error instanceof ApiError ? error : new ApiError({ code: 'unknown', status: 0 });
        return 'failed';
      } finally {
        if (!announcedResult) post({ type: 'refresh-done', from: tabId });
      }
    });
  }

  /**
   * Refreshes the access token unless it already changed since `seenGeneration`.
   * Concurrent callers share one in-flight refresh.
   */
  function refresh(seenGeneration = generation): Promise<RefreshOutcome> {
    if (generation !== seenGeneration && accessToken && !expiringSoon()) {
      return Promise.resolve('ok');
    }
    if (!inFlight) {
      inFlight = performRefresh(generation).finally(() => {
        inFlight = null;
      });
    }
    return inFlight;
  }

  async function backgroundRefresh() {
    if (!accessToken) return;
    const outcome = await refresh();
    if (outcome === 'failed' && accessToken && now() < expiresAt) {
      schedule(Math.min(BACKGROUND_RETRY_MS, Math.max(0, expiresAt - now() - 1000)));
    }
  }

  // --- requests ---

  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const auth = opts.auth ?? true;
    if (auth && expiringSoon()) await refresh();
    const seen = generation;
    let response = await rawFetch(method, path, opts.body, auth ? accessToken : null);
    if (response.status === 401 && auth) {
      const problem = await problemFromResponse(response, now());
      if (!REFRESHABLE_CODES.has(problem.code)) throw problem;
      const outcome = await refresh(seen);
      if (outcome === 'signed-out') throw problem;
      if (outcome === 'failed') throw lastRefreshError ?? problem;
      response = await rawFetch(method, path, opts.body, accessToken);
      if (response.status === 401) {
        const again = await problemFromResponse(response, now());
        if (REFRESHABLE_CODES.has(again.code)) {
          clearToken();
          setState('signed-out', 'expired');
        }
        throw again;
      }
    }
    if (!response.ok) {
      const problem = await problemFromResponse(response, now());
      // The account was disabled while this tab held a token: it is signed out at once.
      if (auth && problem.code === 'account_disabled') {
        clearToken();
        setState('signed-out', 'disabled');
      }
      throw problem;
    }
    return readBody<T>(response);
  }

  type LoginAnswer = TokenResponse & Partial<MfaChallenge> & { mfa_required?: boolean };

  /** The answer of a first login step: a challenge for a second step, or the tokens. */
  function finishLogin(body: LoginAnswer): LoginResult {
    if (body?.mfa_required === true) return { status: 'mfa-required', challenge: readChallenge(body) };
    acceptTokenResponse(body, true);
    setState('signed-in', 'login');
    return { status: 'signed-in' };
  }

  function signOutLocally() {
    clearToken();
    post({ type: 'signed-out', from: tabId });
    setState('signed-out', 'logout');
  }

  return {
    /** One silent refresh at start; later calls return the same answer. */
    init(): Promise<AuthState> {
      if (!initPromise) {
        initPromise = (async () => {
          if (accessToken) return state;
          const outcome = await refresh();
          if (outcome !== 'ok' && !accessToken) setState('signed-out', 'expired');
          return state;
        })();
      }
      return initPromise;
    },

    get state(): AuthState {
      return state;
    },

    /** For tests and diagnostics only: the UI never needs the raw token. */
    get accessToken(): string | null {
      return accessToken;
    },

    subscribe(listener: AuthListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    request,
    refresh: () => refresh(),

    async signup(email: string, password: string, name: string): Promise<SignupResult> {
      return request<SignupResult>('POST', '/api/auth/signup', {
        body: { email, password, name },
        auth: false,
      });
    },

    /**
     * First step of a login. With a second factor on, the server answers with a challenge and
     * no tokens: finish it with mfaVerify.
     */
    async login(email: string, password: string): Promise<LoginResult> {
      return finishLogin(
        await request<LoginAnswer>('POST', '/api/auth/login', {
          body: { email, password, mode: 'cookie' },
          auth: false,
        }),
      );
    },

    /**
     * Asks for a sign-in code by text message (202 whatever the number: the server does not
     * tell whether the number belongs to an account).
     */
    smsStart: (phone: string) =>
      request<AcceptedResult>('POST', '/api/auth/sms/start', { body: { phone }, auth: false }),

    /** Signs in with the texted code; like login(), it may need a second step. */
    async smsLogin(phone: string, code: string): Promise<LoginResult> {
      return finishLogin(
        await request<LoginAnswer>('POST', '/api/auth/sms/verify', {
          body: { phone, code, mode: 'cookie' },
          auth: false,
        }),
      );
    },

    /** Texts a code for a challenge that offers "sms" (202). */
    mfaSendSms: (mfaToken: string) =>
      request<void>('POST', '/api/auth/mfa/sms', { body: { mfa_token: mfaToken }, auth: false }),

    /** Second step of a login: on success the client holds the token as after login(). */
    async mfaVerify(mfaToken: string, method: MfaMethod, code: string): Promise<void> {
      const body = await request<TokenResponse>('POST', '/api/auth/mfa/verify', {
        body: { mfa_token: mfaToken, method, code, mode: 'cookie' },
        auth: false,
      });
      acceptTokenResponse(body, true);
      setState('signed-in', 'login');
    },

    mfaStatus: () => request<MfaStatus>('GET', '/api/me/mfa'),
    /** Starts TOTP enrolment; TOTP is not on until totpConfirm. */
    totpStart: () => request<TotpEnrolment>('POST', '/api/me/mfa/totp', { body: {} }),
    /** Turns TOTP on; returns the recovery codes, which are shown once. */
    async totpConfirm(code: string): Promise<string[]> {
      const body = await request<{ status: string; recovery_codes?: string[] }>('POST', '/api/me/mfa/totp/confirm', {
        body: { code },
      });
      return Array.isArray(body?.recovery_codes) ? body.recovery_codes : [];
    },
    /** `code`: a current TOTP code or an unused recovery code. */
    totpDisable: (password: string, code: string) =>
      request<void>('DELETE', '/api/me/mfa/totp', { body: { password, code } }),
    async regenerateRecoveryCodes(password: string, code: string): Promise<string[]> {
      const body = await request<{ recovery_codes?: string[] }>('POST', '/api/me/mfa/recovery-codes', {
        body: { password, code },
      });
      return Array.isArray(body?.recovery_codes) ? body.recovery_codes : [];
    },

    /** Texts a code to the number (202); the number counts once verifyPhone succeeds. */
    addPhone: (phone: string) => request<PhoneResult>('POST', '/api/me/phone', { body: { phone } }),
    verifyPhone: (code: string) => request<PhoneResult>('POST', '/api/me/phone/verify', { body: { code } }),
    removePhone: (password: string) => request<void>('DELETE', '/api/me/phone', { body: { password } }),

    async logout(): Promise<void> {
      try {
        const response = await rawFetch('POST', '/api/auth/logout', {}, accessToken);
        if (!response.ok && response.status !== 401) throw await problemFromResponse(response, now());
      } finally {
        signOutLocally();
      }
    },

    async logoutAll(): Promise<void> {
      await request<void>('POST', '/api/auth/logout-all', { body: {} });
      signOutLocally();
    },

    me: () => request<User>('GET', '/api/me'),
    updateProfile: (name: string) => request<User>('PATCH', '/api/me', { body: { name } }),
    changePassword: (current: string, next: string) =>
      request<void>('POST', '/api/me/password', { body: { current, new: next } }),

    async deleteAccount(password: string): Promise<void> {
      await request<void>('DELETE', '/api/me', { body: { password } });
      signOutLocally();
    },

    async sessions(): Promise<SessionInfo[]> {
      const body = await request<{ sessions: SessionInfo[] }>('GET', '/api/me/sessions');
      return Array.isArray(body?.sessions) ? body.sessions : [];
    },

    revokeSession: (id: string) =>
      request<void>('DELETE', `/api/me/sessions/${encodeURIComponent(id)}`),

    /**
     * Confirms an address with the mailed token, or with the address and its code. When the
     * server signs the user in as well, the client takes the token as after a login.
     */
    async verifyEmail(input: VerifyEmailInput): Promise<VerifyEmailResult> {
      const proof = 'token' in input ? { token: input.token } : { email: input.email, code: input.code };
      const body = await request<Partial<TokenResponse> & Partial<VerifyEmailResult> & Record<string, unknown>>(
        'POST',
        '/api/auth/verify-email',
        { body: { ...proof, mode: 'cookie' }, auth: false },
      );
      const signedIn = typeof body?.access_token === 'string';
      if (signedIn) {
        acceptTokenResponse(body as TokenResponse, true);
        setState('signed-in', 'login');
      }
      return {
        status: typeof body?.status === 'string' ? body.status : 'verified',
        email: typeof body?.email === 'string' ? body.email : (proof.email ?? ''),
        purpose: body?.purpose === 'change_email' ? 'change_email' : 'verify_email',
        signedIn,
      };
    },

    resendVerification: (email: string) =>
      request<AcceptedResult>('POST', '/api/auth/verify-email/resend', { body: { email }, auth: false }),

    forgotPassword: (email: string) =>
      request<AcceptedResult>('POST', '/api/auth/password/forgot', { body: { email }, auth: false }),

    resetPassword: (token: string, password: string) =>
      request<PasswordResetResult>('POST', '/api/auth/password/reset', { body: { token, password }, auth: false }),

    /** Starts a change of address: a link goes to the new one; nothing changes until it is followed. */
    changeEmail: (newEmail: string, password: string) =>
      request<EmailChangeResult>('POST', '/api/me/email', { body: { new_email: newEmail, password } }),

    /** Social providers; a 404 (no social login on this server) means none. */
    async providers(): Promise<Provider[]> {
      try {
        const body = await request<{ providers?: unknown }>('GET', '/api/auth/providers', { auth: false });
        const list = body?.providers;
        return Array.isArray(list) ? list.filter(isProvider) : [];
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return [];
        throw error;
      }
    },

    /** The URL that starts a social login with `providerId` (navigate the whole page there). */
    socialStartUrl: (providerId: string, returnTo: string) => socialStartUrl(providerId, returnTo, baseUrl),

    /** The social accounts linked to the signed-in user. */
    async identities(): Promise<LinkedIdentity[]> {
      const body = await request<{ identities?: LinkedIdentity[] }>('GET', '/api/me/identities');
      return Array.isArray(body?.identities) ? body.identities : [];
    },

    /**
     * Starts linking a provider's account; resolves to the URL to navigate the whole page to.
     * The provider sends the browser back to `returnTo` (or to /profile?error=<code>).
     */
    async linkIdentity(provider: string, returnTo: string): Promise<string> {
      const body = await request<{ redirect_url?: unknown }>(
        'POST',
        `/api/me/identities/${encodeURIComponent(provider)}/link`,
        { body: { return_to: returnTo } },
      );
      const url = body?.redirect_url;
      if (typeof url !== 'string' || !/^(https?:\/\/|\/(?!\/))/.test(url)) {
        throw new ApiError({ code: 'internal', status: 200, detail: 'malformed link answer' });
      }
      return url;
    },

    /** Unlinks a social account; 409 last_login_method when it is the only way to sign in. */
    unlinkIdentity: (id: string) => request<void>('DELETE', `/api/me/identities/${encodeURIComponent(id)}`),

    /** Stops timers and the channel (tests, hot reload). */
    dispose() {
      clearTimer();
      channel?.removeEventListener('message', onMessage);
      channel?.close();
      listeners.clear();
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

let defaultClient: ApiClient | null = null;

/** The app-wide client (created on first use, so tests can build their own). */
export function api(): ApiClient {
  if (!defaultClient) defaultClient = createApiClient();
  return defaultClient;
}
