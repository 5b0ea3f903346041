// The signed-in user: a bearer token from the identity provider (or the dev sign-in page), kept in localStorage.
const KEY = 'lc.token';

function decode(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

/** The token's claims ({sub, roles, name, exp, vendor_id}) or null; an expired or unreadable token is dropped. */
export function claims(token = localStorage.getItem(KEY)) {
  if (!token) return null;
  try {
    const c = decode(token.split('.')[1]);
    if (typeof c.exp === 'number' && c.exp * 1000 <= Date.now()) return null;
    return c;
  } catch {
    return null;
  }
}

export function getToken() {
  const token = localStorage.getItem(KEY);
  return token && claims(token) ? token : null;
}

export function setToken(token) {
  if (!claims(token)) throw new Error('invalid_token');
  localStorage.setItem(KEY, token);
}

export function signOut() {
  localStorage.removeItem(KEY);
}

export function user() {
  const c = claims();
  return c ? { id: c.sub, name: c.name || null, roles: c.roles || [], vendorId: c.vendor_id || null } : null;
}

export function hasRole(role) {
  const u = user();
  return !!u && u.roles.includes(role);
}

/** Where to send someone who must sign in first (back here afterwards). */
export function signInUrl(next = location.pathname + location.search) {
  return '/signin?next=' + encodeURIComponent(next);
}
