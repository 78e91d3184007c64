/**
 * Credentials never leave the server: camera URLs carry them (`rtsp://admin:pass@cam/…`, or
 * `?user=…&password=…` as some brands take them), RTMP push targets their stream key in the path, and
 * ffmpeg repeats the URL in its errors. Everything the pull ingest and the restream targets log, store
 * as an error or show in the API goes through here first.
 */

/** Query parameters that carry a secret (Dahua/Foscam `pwd`, `password`, tokens, signed URLs). */
const secretParams =
  /([?&](?:user(?:name)?|usr|pass(?:word|wd)?|pwd|token|access_token|auth|key|secret|sig(?:nature)?)=)[^&\s#"']*/gi;

/**
 * `scheme://userinfo@` anywhere in a text. `[^\s/?#]*` is greedy, so the userinfo runs to the last `@`
 * before the path: a password with `@` in it (`admin:Yijian@2018!@192.168.40.105`, seed 003) is
 * redacted whole, as ffmpeg (which also splits at the last `@`) reads it.
 */
const userinfo = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#]*@/g;

/** The mask put where a credential was. */
export const redactedMark = '***';

/**
 * A URL with its credentials masked: `rtsp://admin:pw@cam:554/x?pwd=1` → `rtsp://***@cam:554/x?pwd=***`.
 * Anything that is not a URL (a device path, `-f lavfi` input) comes back unchanged.
 */
export function redactUrl(url: string): string {
  return url.replace(userinfo, `$1${redactedMark}@`).replace(secretParams, `$1${redactedMark}`);
}

/**
 * An RTMP target's URL as it may be shown: {@link redactUrl}, and the last path segment, where RTMP
 * services put the stream key (`rtmp://a.rtmp.youtube.com/live2/<key>`), masked too.
 */
export function redactStreamKey(url: string): string {
  const masked = redactUrl(url);
  const q = indexOfAny(masked, '?#');
  const path = masked.slice(0, q);
  const schemeEnd = path.indexOf('://') + 3;
  const lastSlash = path.lastIndexOf('/');
  if (lastSlash < schemeEnd || lastSlash === path.length - 1) return masked;
  return `${path.slice(0, lastSlash + 1)}${redactedMark}${masked.slice(q)}`;
}

/**
 * The literal secrets in `url` (the userinfo, the password, secret query values, and their
 * percent-decoded forms), for {@link redactText} to find where no URL pattern shows them (ffmpeg
 * prints a decoded password, or a URL cut in the middle). Secrets shorter than 3 characters are left
 * out: masking every "ab" in a log would garble it, and a URL that carries them is still masked.
 */
export function secretsOf(url: string): string[] {
  const found = new Set<string>();
  const add = (s: string | undefined): void => {
    if (!s) return;
    for (const v of [s, safeDecode(s)]) if (v.length >= 3) found.add(v);
  };
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url);
  if (scheme) {
    const rest = url.slice(scheme[0].length);
    const authority = rest.slice(0, indexOfAny(rest, '/?#'));
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const info = authority.slice(0, at);
      add(info);
      const colon = info.indexOf(':');
      if (colon >= 0) add(info.slice(colon + 1));
    }
  }
  for (const m of url.matchAll(secretParams)) add(m[0].slice(m[1]?.length ?? 0));
  // Longest first, so a password inside the userinfo does not split it before the whole is masked.
  return [...found].sort((a, b) => b.length - a.length);
}

/** `text` with every URL's credentials masked, and every one of `secrets` wherever it appears. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join(redactedMark);
  return redactUrl(out);
}

function indexOfAny(text: string, chars: string): number {
  for (let i = 0; i < text.length; i++) if (chars.includes(text[i] as string)) return i;
  return text.length;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
