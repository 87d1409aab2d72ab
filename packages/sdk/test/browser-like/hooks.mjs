// Loads modules the way a browser bundler would (webpack, esbuild, Vite): `browser` export conditions, not
// `node`; each package's `browser` field
// replaces files (`"./lib/x.js": "./lib/x-browser.js"`) and Node built-ins (`"crypto": false` → an empty
// module), and any other Node built-in is an error. Used with `node --import` by sdk-in-browser.mjs.
import { readFileSync } from 'node:fs';
import { builtinModules, registerHooks } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const EMPTY = 'data:text/javascript,export default {};';
const builtins = new Set(builtinModules);
const packages = new Map();

/** The nearest package.json with a name above `file`, with its directory. */
function packageOf(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    if (packages.has(dir)) return packages.get(dir);
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (typeof json.name === 'string') {
        const found = { dir, browser: typeof json.browser === 'object' ? json.browser : {} };
        packages.set(dir, found);
        return found;
      }
    } catch {}
  }
  return undefined;
}

registerHooks({
  resolve(specifier, context, next) {
    const parent = context.parentURL?.startsWith('file:')
      ? packageOf(fileURLToPath(context.parentURL))
      : undefined;
    const bare = specifier.replace(/^node:/, '');
    if (specifier.startsWith('node:') || builtins.has(bare)) {
      if (parent?.browser[bare] === false) return { url: EMPTY, format: 'module', shortCircuit: true };
      throw new Error(
        `"${specifier}" is a Node built-in, not in a browser (imported by ${context.parentURL})`,
      );
    }
    // Export conditions as a bundler targeting browsers sets them: `browser`, never `node`.
    const conditions = [...context.conditions.filter((name) => name !== 'node'), 'browser'];
    const resolved = next(specifier, { ...context, conditions });
    if (!resolved.url.startsWith('file:')) return resolved;
    const file = fileURLToPath(resolved.url);
    const pkg = packageOf(file);
    const mapped = pkg?.browser[`./${relative(pkg.dir, file).split(sep).join('/')}`];
    if (mapped === false) return { url: EMPTY, format: 'module', shortCircuit: true };
    if (typeof mapped === 'string') return { ...resolved, url: pathToFileURL(join(pkg.dir, mapped)).href };
    return resolved;
  },
});
