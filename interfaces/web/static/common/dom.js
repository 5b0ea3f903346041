// A tiny element builder: h('button', {class: 'buy', onclick: f}, t('buy')) — no framework, no build step.
// (Now in core.js, which the viewer pages import directly.)
export * from './core.js';
