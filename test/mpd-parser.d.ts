// mpd-parser (videojs) ships no types; what the tests use of it.
declare module 'mpd-parser' {
  export function parse(
    manifest: string,
    options: { manifestUri: string },
  ): { playlists: { segments: { resolvedUri: string }[] }[]; minimumUpdatePeriod?: number };
}
