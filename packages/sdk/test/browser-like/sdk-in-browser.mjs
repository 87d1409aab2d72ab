// Run as `node --import ./hooks.mjs sdk-in-browser.mjs` with the credentials as JSON on stdin: verifies each
// with the SDK as a browser would load it (see hooks.mjs), without process.getBuiltinModule (so
// @personachain/crypto cannot reach node:crypto), and prints the results and the crypto backend as JSON.
const stdout = process.stdout;
const input = await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => {
    text += chunk;
  });
  process.stdin.on('end', () => resolve(JSON.parse(text)));
});
// What a browser has and Node lacks: `self`.
globalThis.self = globalThis;
Object.defineProperty(process, 'getBuiltinModule', { value: undefined, configurable: true, writable: true });

const { verifyCredentialOffline } = await import('@personachain/sdk');
const { signatureScheme } = await import('@personachain/crypto');
const results = [];
for (const credential of input.credentials) results.push(await verifyCredentialOffline(credential));
stdout.write(JSON.stringify({ backend: signatureScheme('Ed25519').backend, results }));
