/// <reference lib="esnext.disposable" />
/** Resolves to true once the wasm module is instantiated, false if it could not be (never rejects). */
export declare const ready: Promise<boolean>;
export { newSessionId, version, buildFeatures } from '../dist/player/livekpi_player.js';

/**
 * QoE metrics of one view. Durations are client wall-clock ms; `null` means "not measured" (a
 * rate whose denominator is 0, a latency without a program-date-time, a startup without a frame).
 * The definition of each field is in the crate's `qoe::QoeMetrics` docs.
 */
export interface QoeMetrics {
  startupMs: number | null; loadToFirstFrameMs: number | null; started: boolean; autoplayBlocked: boolean;
  preloaded: boolean; hiddenDuringStartup: boolean; exitBeforeStart: boolean; startupFailure: boolean;
  playbackFailure: boolean; failureCode: number; errorCount: number; ended: boolean;
  /**
   * What this environment kept the monitor from measuring as designed: an OR of bits, 0 = fully
   * capable (crate docs: `qoe::DEGRADED_*`); `degradedReasons` names the bits that are set.
   */
  degraded: number; degradedReasons: DegradedReason[];
  stallCount: number; stallMs: number; stallOngoing: boolean; stallOngoingMs: number;
  rebufferRatio: number | null; rebufferRatioWatch: number | null; stallFrequencyPerMin: number | null;
  freezeCount: number; freezeMs: number; freeze500Count: number; freeze500Ms: number;
  droppedFrames: number; totalFrames: number; droppedFrameRatio: number | null;
  seekCount: number; seekLatencyLastMs: number | null; seekLatencyMeanMs: number | null; seekLatencyMaxMs: number | null;
  clockOffsetMs: number | null; rttLastMs: number | null; rttMinMs: number | null;
  latencyLastMs: number | null; latencyMeanMs: number | null; latencyMinMs: number | null; latencyMaxMs: number | null;
  latencySamples: number; liveEdgeLastS: number | null; liveEdgeMeanS: number | null;
  segmentTtfbMeanMs: number | null; segmentTtfbCount: number;
  bitrateSwitchUp: number; bitrateSwitchDown: number; bitrateLastBps: number | null; bitrateMeanBps: number | null;
  upscaleMs: number; downscaleMs: number; upscaleMean: number | null; downscaleMean: number | null;
  watchMs: number; playingMs: number; hiddenMs: number; pausedMs: number;
  p1203StallImpact: number | null; p1203O23: number | null; muxStartupScore: number | null; muxSmoothnessScore: number | null;
}

/**
 * Why a view's measurement is degraded (bit order of `QoeMetrics.degraded`): no
 * requestVideoFrameCallback (timeupdate fallback), no getVideoPlaybackQuality (no dropped
 * frames), no sendBeacon (fetch keepalive at page close), localStorage missing or throwing (an
 * unsent summary is not kept across reloads), the element left the document, a monitor callback
 * threw and was contained, every time-sync probe failed (latency on the client clock), a patched
 * performance.now (event timestamps used), no ResizeObserver (element size read at start only).
 */
export type DegradedReason = 'noFrameCallbacks' | 'noPlaybackQuality' | 'noBeacon' | 'noStorage'
  | 'elementRemoved' | 'fault' | 'noTimeSync' | 'clockPatched' | 'noResizeObserver';

/**
 * One stall: media position where playback stopped, back-dated start (client epoch ms: when the
 * playhead stopped), duration (the playhead's shortfall behind the wall clock, see `qoe::monitor`).
 */
export interface StallInfo { positionS: number | null; startMs: number; durationMs: number }

/** What an adapter reports from a player library into the monitor. */
export interface AdapterSink {
  bitrate(bps: number): void;
  /** The fragment now playing starts at media time `startS` and was stamped at `programDateMs`. */
  programDate(startS: number | undefined, programDateMs: number | null | undefined): void;
  segmentTtfb(ms: number): void;
  error(code: number, fatal: boolean): void;
  liveEdge(read: () => number | undefined): void;
  /**
   * The CMCD v1 payload for one request the adapter is about to make, from the monitor's state
   * and `request`, written by `livekpi/player/cmcd` (undefined until that entry is loaded and the
   * wasm module is ready). Used by `cmcdHls` of `livekpi/player/cmcd`.
   */
  cmcd(request: CmcdRequestInfo, options?: CmcdOptions): { query: string } | { headers: Record<string, string> } | undefined;
}

/**
 * What a player adapter knows of one request, for its CMCD v1 payload (NaN / undefined =
 * unknown): `ot` object type code (1 m, 2 a, 3 v, 4 av, 5 i, 6 c, 7 tt; 0 unknown), `d` object
 * duration ms, `bl` buffer ahead ms, `br` encoded bitrate kbit/s, `tb` top bitrate kbit/s, `mtp`
 * measured throughput kbit/s, `nor` next object (relative URL), `live` the playlist is live.
 */
export interface CmcdRequestInfo {
  ot: number; d?: number; bl?: number; br?: number; tb?: number; mtp?: number; nor?: string; live?: boolean;
}

/** How CMCD v1 travels on the requests of an adapter (docs/cmcd.md). */
export interface CmcdOptions {
  /**
   * `'query'` (default): a `CMCD=` query argument (no CORS preflight); `'headers'`: the
   * `CMCD-Object`, `CMCD-Request`, `CMCD-Session`, `CMCD-Status` headers (a cross-origin server
   * must allow them in `Access-Control-Allow-Headers`).
   */
  mode?: 'query' | 'headers';
  /** `cid` (≤ 64 printable ASCII characters); default the `roomId` of `attach`. */
  contentId?: string;
  /** When set, `rtp` (requested maximum throughput) = this × the requested rendition's bitrate. */
  rtpFactor?: number;
}
/** Connects a player library to the monitor; returns a function that disconnects it. */
export type Adapter = (sink: AdapterSink) => (() => void) | void;

/** The subset of an hls.js instance the adapter uses. */
export interface HlsLike {
  on(event: string, handler: (event: string, data: unknown) => void): void;
  off(event: string, handler: (event: string, data: unknown) => void): void;
  readonly levels?: ReadonlyArray<{ bitrate: number }>;
  readonly latency?: number;
}
/** An adapter for hls.js (bitrate switches, program-date-time, fatal errors, segment TTFB, live edge). */
export declare function hlsjs(hls: HlsLike): Adapter;

/** Summary delivery counters of a view. */
export interface UpstreamStatus {
  /** Summaries sent (fetch or beacon). */
  sent: number;
  /** Summaries the collector acknowledged (2xx). */
  acked: number;
  /**
   * Failed sends (network or 5xx), each retried later with jittered exponential backoff (2 s up
   * to 60 s; the periodic flush waits for it), or at once when the browser goes back `online`.
   */
  failures: number;
  /** Sequence number of the newest unacknowledged summary (kept for retry and persisted), or null. */
  pendingSeq: number | null;
  /** Current retry backoff, ms (0 when healthy). */
  backoffMs: number;
}

export interface AttachOptions {
  /** Minimum stall counted, ms (default 100). */
  stallThresholdMs?: number;
  /** A URL answering `{"server_ms": <epoch ms>}` for the clock offset behind glass-to-glass latency. */
  timeSyncUrl?: string;
  /** Player-library adapters, e.g. `[hlsjs(hls)]`. */
  adapters?: Adapter[];
  /** The collector's summary URL (e.g. `/api/summary`); with `roomId`, summaries are sent there. */
  collectorUrl?: string;
  /** The live room (1–64 bytes of UTF-8) the summaries belong to. */
  roomId?: string;
  /** Periodic summary interval, ms (default 30000; at least 1000). */
  flushIntervalMs?: number;
  /** Share of views that send summaries (0..1, default 1); every view still measures locally. */
  sampleRate?: number;
}

export interface QoeHandle {
  /**
   * The id of this viewing session (32 hex digits), or null until the wasm module is ready. A new
   * source on the element (a `loadstart` of another URL; not a new MediaSource `blob:` URL
   * replacing another, which MSE players do on error recovery) ends the view — its final summary is
   * sent — and starts a new one: a new id, and `metrics()` / `stalls()` of the new view.
   */
  readonly sessionId: string | null;
  /** The QoE metrics now, or null while (or if) the wasm module is not ready. */
  metrics(): QoeMetrics | null;
  /** The recent stalls, oldest first (an ongoing one last). */
  stalls(): StallInfo[];
  /** Connects a player-library adapter. */
  use(adapter: Adapter): void;
  /** Reports a play intent the element has not shown yet (e.g. right before calling play()). */
  playIntent(autoplay?: boolean): void;
  /** Reports that the browser's autoplay policy rejected play(). */
  autoplayBlocked(): void;
  /** Summary delivery counters, or null when this view does not send (no collector, sampled out). */
  upstream(): UpstreamStatus | null;
  /** Sends a summary now (also done every `flushIntervalMs`). */
  flush(): void;
  /**
   * The CMCD v1 query-argument value for a media request (`CMCD=` + this). Written by
   * `livekpi/player/cmcd` (import it once, e.g. `import 'livekpi/player/cmcd'`): empty until that
   * entry is loaded and the wasm module is ready.
   */
  cmcdQuery(bufferMs?: number, throughputKbps?: number, topBitrateKbps?: number, objectDurationMs?: number): string;
  /**
   * Removes every listener, callback and timer and sends the view's final summary. The handle
   * stays readable: `metrics()` and `stalls()` then report the view as of the detach.
   */
  detach(): void;
}

/** Attaches a QoE monitor to a media element. Never throws. */
export declare function attach(video: HTMLMediaElement, options?: AttachOptions): QoeHandle;
