// The live log feed: one WebSocket to /ws shared by every page, reconnecting with backoff.
// Messages: {"type":"log","operation":"create"|"update","payload":Log}.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LogEntry } from './types';

export type LiveState = 'connecting' | 'live' | 'offline';
type LogListener = (op: 'create' | 'update', log: LogEntry) => void;

const logListeners = new Set<LogListener>();
const stateListeners = new Set<(s: LiveState) => void>();
let socket: WebSocket | null = null;
let state: LiveState = 'offline';
let retry = 0;
let timer: number | undefined;

function setState(s: LiveState): void {
  state = s;
  for (const f of stateListeners) f(s);
}

function connect(): void {
  if (socket || logListeners.size === 0) return;
  setState('connecting');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const ws = new WebSocket(url);
  socket = ws;
  ws.onopen = () => {
    if (socket !== ws) return;
    retry = 0;
    setState('live');
  };
  ws.onmessage = (ev) => {
    let msg: { type?: string; operation?: string; payload?: LogEntry };
    try {
      msg = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    if (msg.type !== 'log' || !msg.payload) return;
    const op = msg.operation === 'update' ? 'update' : 'create';
    for (const f of logListeners) f(op, msg.payload);
  };
  ws.onclose = () => {
    if (socket !== ws) return; // closed on purpose by disconnect()
    socket = null;
    setState('offline');
    if (logListeners.size === 0) return;
    const wait = Math.min(30_000, 500 * 2 ** retry++);
    timer = window.setTimeout(connect, wait);
  };
}

function disconnect(): void {
  window.clearTimeout(timer);
  const ws = socket;
  socket = null;
  ws?.close();
  setState('offline');
}

/** Calls `f` for every live log event while the calling component is mounted. */
export function useLiveLogs(f: LogListener, enabled = true): LiveState {
  const [s, setS] = useState<LiveState>(state);
  const latest = useRef(f);
  latest.current = f;
  useEffect(() => {
    if (!enabled) return;
    const f: LogListener = (op, log) => latest.current(op, log);
    logListeners.add(f);
    stateListeners.add(setS);
    connect();
    setS(state);
    return () => {
      logListeners.delete(f);
      stateListeners.delete(setS);
      if (logListeners.size === 0) disconnect();
    };
  }, [enabled]);
  return enabled ? s : 'offline';
}
