// The Socket.IO /live-stream namespace (ADR 0006), from the official socket.io-client. Socket.IO reconnects by
// itself; on every (re)connect we join the show again with the last commerce position we saw, so the server
// sends what we missed (or resync: true, and the page reloads its state) — no page reload.
import { io } from '/static/vendor/socket.io-client-4.8.4/socket.io.esm.min.js';
import { getToken } from './core.js';

/**
 * live({streamId, onState, onResync, onStatus}) → {socket, call(event, body), on(event, fn)}.
 * Events with a `position` move the resume point forward.
 */
export function live({ streamId, deviceType, onState, onResync, onStatus } = {}) {
  const socket = io('/live-stream', {
    transports: ['websocket', 'polling'],
    auth: (cb) => cb(getToken() ? { token: getToken() } : {}),
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
  let lastPosition = null;
  const track = (body) => {
    if (body && typeof body.position === 'number' && (lastPosition === null || body.position > lastPosition)) {
      lastPosition = body.position;
    }
  };
  socket.onAny((_, body) => track(body));
  const call = (event, body) =>
    new Promise((resolve) => {
      socket.timeout(10000).emit(event, body, (err, ack) => resolve(err ? { ok: false, error: { code: 'timeout' } } : ack));
    });
  const join = async () => {
    if (!streamId) return;
    const body = { stream_id: streamId, viewer_info: { device_type: deviceType || guessDevice() } };
    if (lastPosition !== null) body.last_position = lastPosition;
    return call('join_stream', body);
  };
  socket.on('connect', () => {
    onStatus && onStatus('connected');
    join();
  });
  socket.on('disconnect', () => onStatus && onStatus('reconnecting'));
  socket.on('connect_error', () => onStatus && onStatus('reconnecting'));
  socket.on('stream_state', (screen) => {
    if (screen.resync && onResync) onResync();
    if (onState) onState(screen);
  });
  return { socket, call, join, on: (event, fn) => socket.on(event, fn), position: () => lastPosition };
}

export function guessDevice() {
  const ua = navigator.userAgent;
  if (/tablet|ipad/i.test(ua)) return 'tablet';
  if (/mobi|android|iphone/i.test(ua) || Math.min(screen.width, screen.height) < 600) return 'mobile';
  return 'desktop';
}
