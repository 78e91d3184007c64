/**
 * Where an RTMP publisher puts its stream name and credential. RTMP has no headers: encoders send an
 * application (`connect`, from the URL's first path part) and a stream name (`publish`, the rest, or
 * OBS's "Stream Key" box). Accepted, for application `live`:
 * - `rtmp://host/live/cam1?token=<token>` (or OBS Server `rtmp://host/live`, Key `cam1?token=<token>`)
 * - `rtmp://host/live/cam1/<key>` (or Key `cam1/<key>`)
 * - OBS Server `rtmp://host/live/cam1`, Key `<key>` (the application arrives as `live/cam1`)
 */
export type PublishName =
  | { readonly ok: true; readonly stream: string; readonly credential: string | undefined }
  | { readonly ok: false; readonly app: string };

export function parsePublishName(app: string, servedApp: string, publishName: string): PublishName {
  const [pathPart = '', query = ''] = splitOnce(publishName, '?');
  const token = new URLSearchParams(query).get('token') || undefined;
  const [appName = '', appQuery = ''] = splitOnce(app, '?');
  const appToken = new URLSearchParams(appQuery).get('token') || undefined;
  if (appName === servedApp) {
    const [stream = '', ...rest] = pathPart.split('/');
    const key = rest.length > 0 ? rest.join('/') : undefined;
    return { ok: true, stream, credential: token ?? key ?? appToken };
  }
  const [first, second, ...more] = appName.split('/');
  if (first === servedApp && second !== undefined && more.length === 0) {
    return { ok: true, stream: second, credential: token ?? appToken ?? (pathPart || undefined) };
  }
  return { ok: false, app: appName };
}

function splitOnce(text: string, sep: string): [string, string] {
  const i = text.indexOf(sep);
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}
