import type { Adapter, CmcdOptions, HlsLike, QoeHandle } from './index.js';

/**
 * An adapter for `attach` (next to `hlsjs(hls)`): CMCD v1 on every playlist and segment request
 * hls.js makes, in query (default) or header mode, written from the monitor's state and what
 * hls.js knows of the requested object (docs/cmcd.md). Requests made before the wasm module is
 * ready carry none.
 */
export declare function cmcdHls(hls: HlsLike & { readonly config: object }, options?: CmcdOptions): Adapter;

/** Options of CMCD v2 event-mode reporting. */
export interface CmcdEventOptions {
  /** The reporting endpoint: each batch is one POST, `content-type: application/cmcd`, lines joined by "\n". */
  url: string;
  /** Batches are sent every this many ms (default 10000; at least 1000), and when the page is hidden or closed. */
  batchMs?: number;
  /** A time-interval (`e=t`) report every this many ms (default 30000, CTA-5004-B's default; at least 1000). */
  intervalMs?: number;
  /** Play-state changes are polled every this many ms besides media events (default 1000; at least 250). */
  pollMs?: number;
  /** Lines kept while the endpoint is unreachable (default 500); the oldest beyond it are dropped and counted. */
  maxQueuedLines?: number;
  /** The hls.js instance, for `br` (selected level), `tb` and `mtp`; also makes `sf` default to `h`. */
  hls?: HlsLike & { readonly currentLevel?: number; readonly maxAutoLevel?: number; readonly bandwidthEstimate?: number };
  /** `cid` (≤ 128 printable ASCII characters). */
  contentId?: string;
  /** `sf` token: `h` HLS, `d` DASH, `s` Smooth, `o` other. */
  streamingFormat?: 'h' | 'd' | 's' | 'o';
  /** `st` token: `v` VOD, `l` live, `ll` low-latency live. */
  streamType?: 'v' | 'l' | 'll';
}

/** Delivery counters of CMCD v2 event reporting. */
export interface CmcdEventStatus {
  /** Batches sent (fetch or beacon). */
  sent: number;
  /** Batches the endpoint acknowledged (2xx). */
  acked: number;
  /** Failed sends (network, 408, 429, 5xx), each retried with jittered exponential backoff (2 s up to 60 s). */
  failures: number;
  /** Report lines dropped because the queue was full. */
  dropped: number;
  /** Report lines made since the start. */
  lines: number;
  /** Report lines waiting to be sent. */
  queued: number;
  /** Current retry backoff, ms (0 when healthy). */
  backoffMs: number;
}

/** A running CMCD v2 event reporter. */
export interface CmcdEventReporter {
  /** Collects the events due (and a time-interval report with `interval`) and sends the queue now. */
  flush(interval?: boolean): void;
  /** Sends what is queued (beacon, unless `sendQueued` is false) and removes every timer and listener. */
  stop(sendQueued?: boolean): void;
  status(): CmcdEventStatus;
}

/**
 * Reports CMCD v2 events (play state, bitrate change, backgrounded, error, time interval) of the
 * view `qoe` measures on `video` to `options.url`. Never throws; null without a url.
 */
export declare function reportCmcdEvents(qoe: QoeHandle, video: HTMLMediaElement, options: CmcdEventOptions): CmcdEventReporter | null;

/** CMCD-keyed data of one v2 event report (raw numbers; inner-list keys as arrays or numbers). */
export interface CmcdEventData {
  e: string; ts: number; sn: number;
  sid?: string; cid?: string; sf?: string; st?: string; sta?: string; bg?: boolean; bs?: boolean;
  bl?: number | number[]; br?: number | number[]; tb?: number | number[]; mtp?: number | number[]; pb?: number | number[];
  bsa?: number | number[]; bsd?: number[]; bsda?: number | number[];
  dfa?: number; ltc?: number; msd?: number; pt?: number; pr?: number; ec?: string | string[];
}
/** One CMCD v2 event-mode line (the crate's `cmcd::encode_v2_event` rules); undefined when invalid. */
export declare function encodeCmcdEvent(data: CmcdEventData): string | undefined;
/** The CTA-5004-B play state (`sta`) of the monitor's metrics; undefined before any play intent. */
export declare function playState(metrics: import('./index.js').QoeMetrics, paused: boolean, seeking: boolean): string | undefined;

/**
 * CMCD-keyed data of one v1 request (raw numbers, rounded by the encoder; NaN / negative /
 * undefined = not sent): `bl` buffer ms, `br` encoded bitrate kbit/s, `tb` top bitrate kbit/s,
 * `mtp` measured throughput kbit/s, `rtp` requested maximum throughput kbit/s, `d` object
 * duration ms, `dl` deadline ms, `pr` playback rate; flags `bs`, `su`; tokens `ot`, `sf`, `st`
 * (`ll` is written `l` in v1); strings `sid`, `cid` (≤ 64 printable ASCII), `nor` (next object,
 * URL-encoded in its quotes, ≤ 2048 UTF-8 bytes), `nrr` (byte range).
 */
export interface CmcdRequestData {
  bl?: number; br?: number; tb?: number; mtp?: number; rtp?: number; d?: number; dl?: number; pr?: number;
  bs?: boolean; su?: boolean;
  ot?: 'm' | 'a' | 'v' | 'av' | 'i' | 'c' | 'tt' | 'k' | 'o'; sf?: 'd' | 'h' | 's' | 'o'; st?: 'v' | 'l' | 'll';
  sid?: string; cid?: string; nor?: string; nrr?: string;
}
/** The CMCD v1 query-argument value (URL-encoded; `CMCD=` + this), by the crate's `cmcd::encode_v1_query` rules. */
export declare function encodeCmcdQuery(data: CmcdRequestData): string;
/** The CMCD v1 headers (`CMCD-Object`, `-Request`, `-Session`, `-Status`; empty ones left out), by `cmcd::encode_v1_headers`. */
export declare function encodeCmcdHeaders(data: CmcdRequestData): Partial<Record<'CMCD-Object' | 'CMCD-Request' | 'CMCD-Session' | 'CMCD-Status', string>>;
