// Module resolution hooks for pin-hookline.mjs: 'hookline' (and 'hookline/postgres', 'hookline/dashboard') -> the pinned copy of dist/.
let target = null;

export function initialize(data) {
  target = data?.target ?? null;
}

export function resolve(specifier, context, nextResolve) {
  if (specifier === 'hookline' && target !== null) return { url: target, shortCircuit: true };
  if ((specifier === 'hookline/postgres' || specifier === 'hookline/dashboard') && target !== null) {
    return {
      url: target.replace(/index\.js$/, `${specifier.slice('hookline/'.length)}.js`),
      shortCircuit: true,
    };
  }
  return nextResolve(specifier, context);
}
