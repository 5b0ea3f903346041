// What every page does first: messages in the user's language, the top bar (language switch, sign-in state).
import { loadMessages, t, translate, lang, setLang } from './i18n.js';
import { user, signOut, signInUrl } from './auth.js';
import { h, fill } from './dom.js';

/**
 * Load messages (the shared ones plus `extraMessages` folders), translate the static text, fill the top bar
 * (#account). Switching language reloads the messages and calls `rerender` — no page reload.
 */
export async function startPage({ extraMessages = [], rerender } = {}) {
  await loadMessages(extraMessages);
  translate();
  const topbar = () => {
    const slot = document.getElementById('account');
    if (!slot) return;
    const u = user();
    const other = lang === 'bn' ? 'en' : 'bn';
    const switchLang = async () => {
      setLang(other);
      await loadMessages(extraMessages);
      translate();
      topbar();
      if (rerender) rerender();
    };
    const account = u
      ? h('button', { type: 'button', id: 'sign-out', onclick: () => { signOut(); location.reload(); } },
          t('nav.sign_out'))
      : h('a', { class: 'button', id: 'sign-in', href: signInUrl() }, t('nav.sign_in'));
    fill(slot,
      h('button', { type: 'button', id: 'lang-switch', lang: other, 'aria-label': t('nav.language'), onclick: switchLang },
        other === 'bn' ? 'বাংলা' : 'English'),
      account);
  };
  topbar();
}
