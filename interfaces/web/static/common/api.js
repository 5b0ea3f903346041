// The documented HTTP API (docs/api.md), with the user's bearer token; refusals become ApiError with the
// (Now in core.js, which the viewer pages import directly.)
export * from './core.js';
