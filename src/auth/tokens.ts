import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { AccessAction } from '../contracts/access.ts';

/**
 * Signed tokens: JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (JWS `HS256`, RFC 7518 §3.2) over
 * the stream name (`sub`), the allowed action (`act`: `publish` | `play`) and the expiry (`exp`), with the
 * server secret. A standard format any JWT library reads, made and checked by `jose`, rather than our own.
 */

const issuer = 'dashrelay';
const algorithm = 'HS256';

/** What a token allows. `stream` `*` is every stream. */
export interface TokenClaims {
  readonly stream: string;
  readonly action: AccessAction;
}

/** A verified token: its claims and when it expires (ms since the epoch). */
export interface VerifiedToken extends TokenClaims {
  readonly expiresAtMs: number;
}

/** Why a token was refused, in words safe to tell the client (never the token). */
export class TokenRefused extends Error {}

const keyOf = (secret: string): Uint8Array => new TextEncoder().encode(secret);

/**
 * A token for `claims`, valid for `ttlS` seconds from now.
 * @param secret the server secret (`auth.secret`), at least 16 characters.
 */
export async function signToken(secret: string, claims: TokenClaims, ttlS: number): Promise<string> {
  const nowS = Math.floor(Date.now() / 1000);
  return new SignJWT({ act: claims.action })
    .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(claims.stream)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + Math.max(1, Math.round(ttlS)))
    .sign(keyOf(secret));
}

/** Whether `text` has the shape of a JWT (three base64url parts), i.e. is not a plain stream key. */
export function looksLikeToken(text: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(text);
}

/**
 * Verifies a token's signature (constant time, in jose), issuer, algorithm and expiry.
 * @throws TokenRefused saying why: expired, bad signature or malformed, no stream or action.
 */
export async function verifyToken(secret: string, token: string): Promise<VerifiedToken> {
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), {
      algorithms: [algorithm],
      issuer,
      requiredClaims: ['exp', 'sub'],
    });
    const action = payload.act;
    if (action !== 'publish' && action !== 'play') throw new TokenRefused('the token names no action');
    return { stream: String(payload.sub), action, expiresAtMs: (payload.exp ?? 0) * 1000 };
  } catch (err) {
    if (err instanceof TokenRefused) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new TokenRefused('the token has expired');
    if (err instanceof joseErrors.JWSSignatureVerificationFailed)
      throw new TokenRefused('the token was not signed with this server’s secret');
    throw new TokenRefused('the token is malformed');
  }
}

/** Parses a duration such as `90s`, `15m`, `1h`, `7d` (or plain seconds) into seconds; `undefined` if invalid. */
export function parseDurationS(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  const s = n * unit;
  return s >= 1 ? s : undefined;
}
