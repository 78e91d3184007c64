/**
 * What packagers write and the origin serves, in terms neither side's implementation: a packager names
 * its files as it likes (ffmpeg's dashenc `init-0.m4s`, `seg-0-00042.m4s`), tells the live store what
 * each one is, and publishes its MPD as something the origin can render for each viewer.
 */

/** What one packager file is. `representation` is the MPD's Representation@id (ISO/IEC 23009-1 §5.3.5). */
export type SegmentKind =
  | { readonly kind: 'init'; readonly representation: number }
  | { readonly kind: 'media'; readonly representation: number; readonly number: number };

/** How a packager names its init and media segments; the origin knows names only through it. */
export interface SegmentNaming {
  /** The kind of a segment name, or `undefined` for a name this packager never writes. */
  parse(name: string): SegmentKind | undefined;
}

/** What the origin knows of how a viewer reaches this server, when it renders an MPD for them. */
export interface ManifestView {
  /** This server's `/time` as the viewer reaches it (for the MPD's UTCTiming, §5.8.4.11). */
  readonly timingUrl: string;
  /**
   * A query string (without `?`) added to the init and media segment URLs of the SegmentTemplate: a
   * viewer's play token rides along to every segment request (`token=…`), so any DASH player keeps it.
   */
  readonly segmentQuery?: string;
}

/**
 * An XML element as fast-xml-parser reads it with `attributeNamePrefix: '@'`: attributes under `@name`,
 * child elements under their name (an array when repeated).
 */
export interface XmlElement {
  [name: string]: string | XmlElement | XmlElement[] | undefined;
}

/**
 * What a packager's MPD says about the media: one Period's content. The timing (availabilityStartTime,
 * Period@start, template durations and offsets) is the origin's, which knows when media arrived.
 */
export interface PublishedManifest {
  /** The MPD as the packager wrote it: the disk copy. */
  readonly raw: Buffer;
  /**
   * Its AdaptationSets as parsed, each with `Representation` children holding a `SegmentTemplate`
   * (`@timescale`, `@duration`, `@initialization`, `@media`, `$Number$` addressing).
   */
  readonly adaptationSets: readonly XmlElement[];
}
