#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// Every command is a fresh process that loads the platform's modules (its crypto, SDK and, for `serve`,
// the server): Node's on-disk cache of their compiled code makes every later start quicker.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off; NODE_COMPILE_CACHE=<dir> moves it from the temp directory.
enableCompileCache();
await import('./program.js');
