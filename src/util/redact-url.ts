/**
 * A URL as logs and the API may show it: user and password (`rtsp://admin:pw@cam/…`), query values
 * (`?token=…`) and, with `hideKey`, the last path segment (an RTMP stream key:
 * `rtmp://a.rtmp.youtube.com/live2/xxxx-xxxx`) become `***`. Works on text that is not a valid URL
 * too (a password with `@` or `/` in it, as cameras' default ones have).
 */
export function redactUrl(url: string, options: { hideKey?: boolean } = {}): string {
  const scheme = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(url);
  if (!scheme) return url;
  const [, prefix = '', rest = ''] = scheme;
  // The user part ends at the last '@' (passwords may hold '@' and '/'); an '@' further on, in a
  // path, hides more than needed, which errs on the safe side.
  const at = rest.lastIndexOf('@');
  const afterUser = at >= 0 ? rest.slice(at + 1) : rest;
  const end = afterUser.search(/[/?#]/);
  const host = end < 0 ? afterUser : afterUser.slice(0, end);
  const tail = end < 0 ? '' : afterUser.slice(end);
  const q = tail.search(/[?#]/);
  let path = q < 0 ? tail : tail.slice(0, q);
  let query = q < 0 ? '' : tail.slice(q);
  if (options.hideKey) path = path.replace(/\/[^/]+\/?$/, '/***');
  query = query.replace(/=([^&#]*)/g, '=***');
  return `${prefix}${at >= 0 ? '***@' : ''}${host}${path}${query}`;
}
