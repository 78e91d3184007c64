/**
 * The credential a client sent over HTTP or WebSocket: an `Authorization: Bearer <token>` header, else
 * a `token` query parameter (what a browser's WebSocket or a DASH player's URL can carry).
 */
export function credentialOf(
  url: string | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string | undefined {
  const auth = headers.authorization;
  const header = Array.isArray(auth) ? auth[0] : auth;
  const bearer = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) return bearer;
  const query = url?.split('?')[1];
  if (!query) return undefined;
  const token = new URLSearchParams(query).get('token');
  return token || undefined;
}
