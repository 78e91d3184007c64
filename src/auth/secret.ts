import { readFile } from 'node:fs/promises';
import type { Config } from '../config/config.ts';
import { createError } from '../errors/errors.ts';

/** Shortest secret accepted, characters (HS256 wants a key of 256 bits; 16 random characters is ~96). */
export const minSecretLength = 16;

/**
 * The token secret: `auth.secret`, else the first line of `auth.secretFile`, else `undefined`.
 * @throws DashrelayError `DR_ERR_CONFIG_INVALID` when the file cannot be read or its secret is too short.
 */
export async function readSecret(
  auth: Pick<Config['auth'], 'secret' | 'secretFile'>,
): Promise<string | undefined> {
  if (auth.secret !== undefined) return auth.secret;
  if (auth.secretFile === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(auth.secretFile, 'utf8');
  } catch (err) {
    throw createError(
      'DR_ERR_CONFIG_INVALID',
      `auth.secretFile: cannot read ${auth.secretFile}: ${(err as Error).message}`,
    );
  }
  const secret = text.split(/\r?\n/)[0]?.trim() ?? '';
  if (secret.length < minSecretLength) {
    throw createError(
      'DR_ERR_CONFIG_INVALID',
      `auth.secretFile: the secret in ${auth.secretFile} must be at least ${minSecretLength} characters (it has ${secret.length})`,
    );
  }
  return secret;
}
