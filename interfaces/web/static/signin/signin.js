// Sign-in: a token from the identity provider (pasted, or handed over in the URL fragment #token=… by its
// redirect), or — only where the server allows it — a development token for any role.
import { startPage } from '/static/common/core.js';
import { t, errorText } from '/static/common/core.js';
import { api } from '/static/common/core.js';
import { setToken, user } from '/static/common/core.js';

const next = () => {
  const n = new URLSearchParams(location.search).get('next') || '/';
  return n.startsWith('/') && !n.startsWith('//') ? n : '/';
};
const show = (text) => (document.getElementById('signin-error').textContent = text);

function done(token) {
  try {
    setToken(token);
  } catch {
    show(t('signin.bad_token'));
    return;
  }
  location.assign(next());
}

async function main() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const handed = fragment.get('token') || fragment.get('access_token');
  if (handed) {
    history.replaceState(null, '', location.pathname + location.search);
    done(handed);
    return;
  }
  const render = () => {
    const u = user();
    const line = document.getElementById('signed-in');
    line.hidden = !u;
    if (u) line.textContent = t('signin.current', { name: u.name || u.id, roles: u.roles.join(', ') });
  };
  await startPage({ rerender: render });
  render();
  document.getElementById('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    done(document.getElementById('token-input').value.trim());
  });
  const options = await api('/signin/options', { base: '' }).catch(() => ({ dev_tokens: false }));
  if (!options.dev_tokens) return;
  const dev = document.getElementById('dev');
  dev.hidden = false;
  document.getElementById('dev-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const body = { role: f.get('role') };
    for (const k of ['name', 'user_id', 'vendor_id']) if (String(f.get(k) || '').trim()) body[k] = String(f.get(k)).trim();
    try {
      const answer = await api('/signin/dev-token', { method: 'POST', body, base: '' });
      done(answer.token);
    } catch (err) {
      show(errorText(err));
    }
  });
}

main();
