import { XMLBuilder } from 'fast-xml-parser';
import type { XmlElement } from '../contracts/segments.ts';

/**
 * The live MPD as this server writes it (ISO/IEC 23009-1 §5.3), every timing value in ms since the
 * epoch or ms: the model the origin renders per request. What a packager contributes is only the
 * content of each Period (AdaptationSets, Representations, codecs, templates); the timing is ours.
 */
export interface MpdDocument {
  /** MPD@availabilityStartTime: wall clock of presentation time 0, ms since the epoch. Never changes. */
  readonly availabilityStartTimeMs: number;
  /** MPD@publishTime, ms since the epoch. */
  readonly publishTimeMs: number;
  /** MPD@minimumUpdatePeriod, ms: how often players re-read the MPD. */
  readonly minimumUpdatePeriodMs: number;
  /** MPD@timeShiftBufferDepth, ms. */
  readonly timeShiftBufferDepthMs: number;
  /** MPD@maxSegmentDuration, ms. */
  readonly maxSegmentDurationMs: number;
  /** MPD@minBufferTime, ms. */
  readonly minBufferTimeMs: number;
  /** MPD@suggestedPresentationDelay, ms: for players that read no ServiceDescription. */
  readonly suggestedPresentationDelayMs: number;
  /** MPD@profiles (§8; DASH-IF IOP low-latency). */
  readonly profiles: readonly string[];
  /** ServiceDescription (Annex K): Latency target/min/max (ms) and PlaybackRate bounds (× real time). */
  readonly service: {
    readonly targetLatencyMs: number;
    readonly minLatencyMs: number;
    readonly maxLatencyMs: number;
    readonly minPlaybackRate: number;
    readonly maxPlaybackRate: number;
    /** ProducerReferenceTime@id the latency is measured against (Latency@referenceId). */
    readonly referenceId: number;
  };
  readonly periods: readonly MpdPeriod[];
  /** UTCTiming (§5.8.4.11) `urn:mpeg:dash:utc:http-iso:2014` URL: this server's `/time`. */
  readonly utcTimingUrl: string;
}

export interface MpdPeriod {
  /** Period@id: never reused within one presentation. */
  readonly id: string;
  /** Period@start relative to availabilityStartTime, ms. */
  readonly startMs: number;
  /** Period@duration, ms, for the last Period once its publisher stopped. */
  readonly durationMs?: number | undefined;
  readonly adaptationSets: readonly MpdAdaptationSet[];
}

export interface MpdAdaptationSet {
  /** The packager's AdaptationSet: its attributes and children other than Representation. */
  readonly element: XmlElement;
  readonly representations: readonly MpdRepresentation[];
}

export interface MpdRepresentation {
  /** The packager's Representation: its attributes and children other than SegmentTemplate and ProducerReferenceTime. */
  readonly element: XmlElement;
  /** Representation@bandwidth, bits/s. */
  readonly bandwidthBps: number;
  /** SegmentTemplate with `$Number$` addressing (§5.3.9.4). */
  readonly template: {
    readonly timescale: number;
    readonly durationTicks: number;
    readonly startNumber: number;
    /** Media time (ticks) presented at the Period's start. */
    readonly presentationTimeOffsetTicks: number;
    /** SegmentTemplate@availabilityTimeOffset, s (§5.3.9.5.3), with availabilityTimeComplete=false; none for whole segments. */
    readonly availabilityTimeOffsetS?: number | undefined;
    readonly initialization: string;
    readonly media: string;
  };
  /** ProducerReferenceTime (§5.12): media time `presentationTimeTicks` was live at `wallClockMs`. */
  readonly producerReference?: {
    readonly id: number;
    readonly wallClockMs: number;
    readonly presentationTimeTicks: number;
  };
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  suppressBooleanAttributes: false,
});

/** xs:duration in seconds with ms precision: `PT1.003S`. */
export function isoDuration(ms: number): string {
  return `PT${Number((ms / 1000).toFixed(3))}S`;
}

/** Serialises the model; attribute and element order follow the MPD schema's sequences. */
export function renderMpd(doc: MpdDocument): string {
  const s = doc.service;
  const mpd: XmlElement = {
    '@xmlns': 'urn:mpeg:dash:schema:mpd:2011',
    '@profiles': doc.profiles.join(','),
    '@type': 'dynamic',
    '@availabilityStartTime': new Date(doc.availabilityStartTimeMs).toISOString(),
    '@publishTime': new Date(doc.publishTimeMs).toISOString(),
    '@minimumUpdatePeriod': isoDuration(doc.minimumUpdatePeriodMs),
    '@timeShiftBufferDepth': isoDuration(doc.timeShiftBufferDepthMs),
    '@maxSegmentDuration': isoDuration(doc.maxSegmentDurationMs),
    '@minBufferTime': isoDuration(doc.minBufferTimeMs),
    '@suggestedPresentationDelay': isoDuration(doc.suggestedPresentationDelayMs),
    ServiceDescription: {
      '@id': '0',
      Latency: {
        '@referenceId': String(s.referenceId),
        '@target': String(Math.round(s.targetLatencyMs)),
        '@min': String(Math.round(s.minLatencyMs)),
        '@max': String(Math.round(s.maxLatencyMs)),
      },
      PlaybackRate: { '@min': String(s.minPlaybackRate), '@max': String(s.maxPlaybackRate) },
    },
    Period: doc.periods.map(renderPeriod),
    UTCTiming: { '@schemeIdUri': 'urn:mpeg:dash:utc:http-iso:2014', '@value': doc.utcTimingUrl },
  };
  return `<?xml version="1.0" encoding="utf-8"?>\n${builder.build({ MPD: mpd }) as string}`;
}

function renderPeriod(p: MpdPeriod): XmlElement {
  return {
    '@id': p.id,
    '@start': isoDuration(p.startMs),
    ...(p.durationMs !== undefined && { '@duration': isoDuration(p.durationMs) }),
    AdaptationSet: p.adaptationSets.map((set) => ({
      ...attributesOf(set.element),
      ...childrenOf(set.element, ['Representation']),
      Representation: set.representations.map(renderRepresentation),
    })),
  };
}

function renderRepresentation(r: MpdRepresentation): XmlElement {
  const t = r.template;
  const children = childrenOf(r.element, ['SegmentTemplate', 'ProducerReferenceTime', 'Resync']);
  const resync = r.element.Resync;
  return {
    ...attributesOf(r.element),
    '@bandwidth': String(Math.round(r.bandwidthBps)),
    ...children,
    ...(r.producerReference && {
      ProducerReferenceTime: {
        '@id': String(r.producerReference.id),
        '@type': 'captured',
        '@wallClockTime': new Date(r.producerReference.wallClockMs).toISOString(),
        '@presentationTime': String(Math.round(r.producerReference.presentationTimeTicks)),
      },
    }),
    ...(resync !== undefined && { Resync: resync }),
    SegmentTemplate: {
      '@timescale': String(t.timescale),
      '@duration': String(Math.round(t.durationTicks)),
      '@startNumber': String(t.startNumber),
      '@presentationTimeOffset': String(Math.round(t.presentationTimeOffsetTicks)),
      ...(t.availabilityTimeOffsetS !== undefined && {
        '@availabilityTimeOffset': String(Number(t.availabilityTimeOffsetS.toFixed(6))),
        '@availabilityTimeComplete': 'false',
      }),
      '@initialization': t.initialization,
      '@media': t.media,
    },
  };
}

function attributesOf(e: XmlElement): XmlElement {
  return Object.fromEntries(Object.entries(e).filter(([k]) => k.startsWith('@') && k !== '@bandwidth'));
}

function childrenOf(e: XmlElement, except: readonly string[]): XmlElement {
  return Object.fromEntries(Object.entries(e).filter(([k]) => !k.startsWith('@') && !except.includes(k)));
}

/** The child elements `v` of a parsed element holds (one, several, or none). */
export function asArray(v: XmlElement[string]): XmlElement[] {
  if (Array.isArray(v)) return v;
  return typeof v === 'object' && v !== null ? [v] : [];
}
