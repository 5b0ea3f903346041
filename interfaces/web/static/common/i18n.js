// Strings from static/i18n/{en,bn}.json (plus a page's own files), numbers and taka in the chosen language.
// (Now in core.js, which the viewer pages import directly.)
export * from './core.js';
