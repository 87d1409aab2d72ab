import { usageError } from '../errors.js';

const PASSPHRASE_VARIABLE = 'PERSONA_KEYRING_PASSPHRASE';
const MIN_NEW_PASSPHRASE_LENGTH = 8;

/**
 * The keyring passphrase: PERSONA_KEYRING_PASSPHRASE, else asked on the terminal without echo (twice for
 * a new keyring). Without either there is no way to ask, and the command stops before doing anything.
 */
export async function keyringPassphrase(path: string, purpose: 'unlock' | 'create'): Promise<string> {
  const fromEnvironment = process.env[PASSPHRASE_VARIABLE];
  let passphrase: string;
  if (fromEnvironment) {
    passphrase = fromEnvironment;
  } else if (process.stdin.isTTY) {
    passphrase = await ask(
      purpose === 'create' ? `New passphrase for the keyring ${path}: ` : `Passphrase for ${path}: `,
    );
    if (purpose === 'create' && (await ask('Repeat the passphrase: ')) !== passphrase) {
      throw usageError('the passphrases do not match; nothing was created');
    }
  } else {
    throw usageError(`${PASSPHRASE_VARIABLE} is not set and there is no terminal to ask for the passphrase`, [
      `the keyring ${path} is encrypted with a passphrase: set ${PASSPHRASE_VARIABLE}, or run on a terminal`,
    ]);
  }
  if (purpose === 'create' && [...passphrase].length < MIN_NEW_PASSPHRASE_LENGTH) {
    throw usageError(`a new keyring's passphrase needs at least ${MIN_NEW_PASSPHRASE_LENGTH} characters`);
  }
  return passphrase;
}

/** Reads one line from the terminal in raw mode, echoing nothing; Ctrl-C or Ctrl-D aborts. */
function ask(prompt: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(usageError('no passphrase given'));
        if (char === '\u007f' || char === '\b') answer = [...answer].slice(0, -1).join('');
        else answer += char;
      }
    };
    input.on('data', onData);
  });
}
