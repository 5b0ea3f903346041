// The signed-in user: a bearer token from the identity provider (or the dev sign-in page), kept in localStorage.
// (Now in core.js, which the viewer pages import directly.)
export * from './core.js';
