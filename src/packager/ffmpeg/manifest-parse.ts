import { XMLParser } from 'fast-xml-parser';
import type { XmlElement } from '../../contracts/segments.ts';
import { createError } from '../../errors/errors.ts';
import { asArray } from '../../live/mpd-document.ts';

const repeated = new Set(['Period', 'AdaptationSet', 'Representation']);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseAttributeValue: false,
  isArray: (name) => repeated.has(name),
});

/**
 * The AdaptationSets of ffmpeg's live MPD (dashenc, one Period, SegmentTemplate per Representation),
 * for the origin to put into its own MPD. Everything about timing in it is ffmpeg's guess from when
 * its muxer started and is not used.
 * @throws DashrelayError `DR_ERR_PACKAGER_OUTPUT` when the text is not an MPD with AdaptationSets
 * whose Representations each have a SegmentTemplate.
 */
export function parseFfmpegManifest(text: string): XmlElement[] {
  let doc: XmlElement;
  try {
    doc = parser.parse(text) as XmlElement;
  } catch (err) {
    throw createError(
      'DR_ERR_PACKAGER_OUTPUT',
      `the packager wrote an unreadable MPD: ${(err as Error).message}`,
    );
  }
  const period = asArray((doc.MPD as XmlElement | undefined)?.Period)[0];
  const sets = asArray(period?.AdaptationSet);
  const ok =
    sets.length > 0 &&
    sets.every((set) => {
      const reps = asArray(set.Representation);
      return (
        reps.length > 0 && reps.every((r) => typeof r['@id'] === 'string' && isObject(r.SegmentTemplate))
      );
    });
  if (!ok) throw createError('DR_ERR_PACKAGER_OUTPUT', 'the packager wrote an MPD without segment templates');
  return sets;
}

function isObject(v: unknown): v is XmlElement {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
