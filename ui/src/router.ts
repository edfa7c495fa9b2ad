// A small history router: the current path and query, navigate(), and links that stay in the
// app. The server answers every page path with index.html (SPA fallback).
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

function notify(): void {
  for (const f of listeners) f();
}

if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

export interface Loc {
  path: string;
  params: URLSearchParams;
}

function current(): Loc {
  return { path: location.pathname.replace(/\/+$/, '') || '/', params: new URLSearchParams(location.search) };
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const f = () => setLoc(current());
    listeners.add(f);
    return () => void listeners.delete(f);
  }, []);
  return loc;
}

/** For <a> onClick: keeps plain left clicks in the app, lets modified clicks open tabs. */
export function linkClick(e: MouseEvent, href: string): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(href);
}
