// What every page does first: messages in the user's language, the top bar (language switch, sign-in state).
// (Now in core.js, which the viewer pages import directly.)
export * from './core.js';
