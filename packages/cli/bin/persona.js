#!/usr/bin/env node
// The installed `persona` command. It lives outside dist/ so npm can link it on a fresh clone, before
// the first build; it loads the compiled CLI, or says how to build it.
try {
  await import('../dist/main.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/main.js')) {
    process.stderr.write('persona: the CLI is not built yet; run `npm run build` (or `npm start`) first\n');
    process.exit(2);
  }
  throw error;
}
