// Test doubles for the API client: a scripted fetch, an in-process BroadcastChannel and a lock.

import type { ChannelLike, LocksLike } from '../api/client';

export interface RecordedCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export type Handler = (call: RecordedCall) => Response | Promise<Response>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function problem(
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ type: `about:blank#${code}`, title: code, status, code, ...extra }), {
    status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
  });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

export function tokenBody(token: string, expiresIn = 600) {
  return { access_token: token, token_type: 'Bearer', expires_in: expiresIn };
}

/** A fetch that records every call and answers through `handler`. */
export function scriptedFetch(handler: Handler) {
  const calls: RecordedCall[] = [];
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => (headers[key.toLowerCase()] = value));
    const raw = init?.body;
    const call: RecordedCall = {
      method: init?.method ?? 'GET',
      path: String(input),
      headers,
      body: typeof raw === 'string' ? JSON.parse(raw) : undefined,
    };
    calls.push(call);
    return handler(call);
  };
  return { fetch: fetchFn as typeof fetch, calls };
}

/** A promise with its resolve function outside, to hold a response back. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** BroadcastChannel semantics: delivered asynchronously to every other endpoint. */
export class FakeBus {
  private endpoints = new Set<FakeEndpoint>();
  readonly log: unknown[] = [];

  endpoint(): FakeEndpoint {
    const endpoint = new FakeEndpoint(this);
    this.endpoints.add(endpoint);
    return endpoint;
  }

  deliver(from: FakeEndpoint, message: unknown) {
    this.log.push(message);
    for (const endpoint of this.endpoints) {
      if (endpoint !== from) queueMicrotask(() => endpoint.receive(message));
    }
  }

  remove(endpoint: FakeEndpoint) {
    this.endpoints.delete(endpoint);
  }
}

export class FakeEndpoint implements ChannelLike {
  private listeners = new Set<(event: MessageEvent) => void>();
  constructor(private bus: FakeBus) {}
  postMessage(message: unknown) {
    this.bus.deliver(this, structuredClone(message));
  }
  addEventListener(_type: 'message', listener: (event: MessageEvent) => void) {
    this.listeners.add(listener);
  }
  removeEventListener(_type: 'message', listener: (event: MessageEvent) => void) {
    this.listeners.delete(listener);
  }
  close() {
    this.bus.remove(this);
  }
  receive(message: unknown) {
    for (const listener of this.listeners) listener({ data: message } as MessageEvent);
  }
}

/** An exclusive lock shared by the clients it is given to (Web Locks semantics). */
export class FakeLocks implements LocksLike {
  private tail: Promise<unknown> = Promise.resolve();
  held = 0;
  maxHeld = 0;
  request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      this.held++;
      this.maxHeld = Math.max(this.maxHeld, this.held);
      try {
        return await callback();
      } finally {
        this.held--;
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** Lets pending promise callbacks and microtasks run. */
export async function flush(times = 10) {
  for (let i = 0; i < times; i++) await Promise.resolve();
}
