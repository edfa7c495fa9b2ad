// The one way the dashboard talks to the gateway: JSON over fetch, same origin (the session
// cookie rides along), Bifrost's error JSON turned into an ApiError with the server's message.

export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, message: string, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** A route this build of the server does not serve (404), or a method it does not take (405). */
export function isUnavailable(e: unknown): e is ApiError {
  return e instanceof ApiError && (e.status === 404 || e.status === 405);
}

/** The message of a Bifrost error body (`{"error":{"message":...}}`) or of a plain one. */
export function messageOf(body: unknown): string | undefined {
  if (body && typeof body === 'object') {
    const b = body as { error?: { message?: unknown } | string; message?: unknown };
    if (b.error && typeof b.error === 'object' && typeof b.error.message === 'string') {
      return b.error.message;
    }
    if (typeof b.error === 'string') return b.error;
    if (typeof b.message === 'string') return b.message;
  }
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 300);
  return undefined;
}

let unauthorized: () => void = () => {};

/** Called when a management call answers 401 (the session ended): the app shows the login. */
export function onUnauthorized(f: () => void): void {
  unauthorized = f;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `Cannot reach the gateway (${(e as Error).message}).`, null);
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && path.startsWith('/api/') && !path.startsWith('/api/session/')) {
      unauthorized();
    }
    throw new ApiError(res.status, messageOf(data) ?? `${res.status} ${res.statusText}`, data);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);
export const del = <T>(path: string, body?: unknown) => request<T>('DELETE', path, body);

/** A query string from the set values of `params` (empty strings and undefined left out). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
