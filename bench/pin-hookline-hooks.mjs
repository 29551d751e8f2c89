// Module resolution hooks for pin-hookline.mjs: 'hookline' -> the pinned copy of dist/index.js.
let target = null;

export function initialize(data) {
  target = data?.target ?? null;
}

export function resolve(specifier, context, nextResolve) {
  if (specifier === 'hookline' && target !== null) return { url: target, shortCircuit: true };
  return nextResolve(specifier, context);
}
