// Test media for the local server, made once with ffmpeg and cached under target/media/<key>/
// (git-ignored). A 320x180 25 fps test pattern (H.264 Main, closed 1 s GOPs, AAC stereo 440 Hz) with
// a burnt-in frame counter and timecode and, in the bottom 12 rows, a machine-readable barcode of the
// frame number (bit b of the frame number is the 24 px cell starting at x = 24·b, white = 1, black = 0,
// cells separated by 2 px of black; read the middle row, threshold at 128), so a page can tell from
// pixels alone which source frame is on screen. The encode is cut into 1 s MPEG-TS segments (one GOP
// each; also a video-only copy) for the live origin (www/live.mjs) and into a 20 s faststart MP4 for
// the plain <video> path.
// The cache key hashes every generation parameter, so changing one regenerates into a new folder.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const MEDIA_ROOT = resolve(ROOT, 'target/media');
const FFMPEG = process.env.FFMPEG ?? '/usr/bin/ffmpeg';
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf';

/** Every parameter of the generated media; the cache folder is keyed by their hash. */
export const MEDIA_PARAMS = Object.freeze({
  version: 2,
  width: 320,
  height: 180,
  fps: 25,
  seconds: 120, // live loop length: 120 segments
  segment_s: 1, // = GOP length
  video_kbps: 400,
  audio: true,
  audio_kbps: 64,
  clip_s: 20, // /media/clip.mp4
  barcode: { y: 168, height: 12, cell: 24, bits: 13, rule: 2 },
});

function cacheKey(p, withText) {
  return createHash('sha256').update(JSON.stringify({ ...p, text: withText })).digest('hex').slice(0, 16);
}

function run(args) {
  return new Promise((ok, fail) => {
    const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`ffmpeg exited ${code}: ${err}`))));
  });
}

async function generate(dir, p, withText) {
  const { width: w, height: h, fps, seconds, barcode: bc } = p;
  const bar = `nullsrc=s=${w}x${bc.height}:r=${fps}:d=${seconds},format=gray,` +
    `geq=lum='if(lt(mod(X,${bc.cell}),${bc.rule}),16,if(bitand(floor(N/pow(2,floor(X/${bc.cell}))),1),235,16))'`;
  const text = withText
    ? `,drawtext=fontfile=${FONT}:fontsize=20:fontcolor=white:box=1:boxcolor=black@0.6:x=6:y=6:text='%{frame_num} %{pts\\:hms}'`
    : '';
  const args = ['-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=s=${w}x${h}:r=${fps}:d=${seconds}`,
    '-f', 'lavfi', '-i', bar];
  if (p.audio) args.push('-f', 'lavfi', '-i', `sine=f=440:sample_rate=48000:d=${seconds}`);
  args.push('-filter_complex', `[0:v][1:v]overlay=0:${bc.y}${text},format=yuv420p[v]`, '-map', '[v]');
  if (p.audio) args.push('-map', '2:a', '-c:a', 'aac', '-b:a', `${p.audio_kbps}k`, '-ac', '2');
  const gop = fps * p.segment_s;
  args.push('-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-tune', 'zerolatency',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-b:v', `${p.video_kbps}k`,
    '-movflags', '+faststart', join(dir, 'master.mp4'));
  await run(args);
  await run(['-hide_banner', '-loglevel', 'error', '-y', '-i', join(dir, 'master.mp4'), '-c', 'copy',
    '-f', 'hls', '-hls_time', String(p.segment_s), '-hls_playlist_type', 'vod',
    '-hls_segment_filename', join(dir, 'seg%03d.ts'), join(dir, 'index.m3u8')]);
  if (p.audio) { // the same video without audio, for video-only channels (reset?audio=0)
    await run(['-hide_banner', '-loglevel', 'error', '-y', '-i', join(dir, 'master.mp4'), '-c', 'copy', '-an',
      '-f', 'hls', '-hls_time', String(p.segment_s), '-hls_playlist_type', 'vod',
      '-hls_segment_filename', join(dir, 'vseg%03d.ts'), join(dir, 'vindex.m3u8')]);
  }
  await run(['-hide_banner', '-loglevel', 'error', '-y', '-i', join(dir, 'master.mp4'), '-c', 'copy',
    '-t', String(p.clip_s), '-movflags', '+faststart', join(dir, 'clip.mp4')]);
  rmSync(join(dir, 'master.mp4'));
  // Segment durations from the VOD playlist, in whole frames (EXTINF is rounded by ffmpeg).
  const frameMs = 1000 / fps;
  const segments = [];
  const lines = readFileSync(join(dir, 'index.m3u8'), 'utf8').split('\n');
  let frames = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([\d.]+)/.exec(lines[i]);
    if (!m) continue;
    const n = Math.round((Number(m[1]) * 1000) / frameMs);
    const file = lines[i + 1].trim();
    const videoOnly = p.audio ? file.replace(/^seg/, 'vseg') : file;
    segments.push({ file, video_only_file: videoOnly, frames: n, first_frame: frames, duration_ms: n * frameMs });
    frames += n;
  }
  const manifest = { key: cacheKey(p, withText), params: p, text: withText, frame_ms: frameMs, segments,
    clip: 'clip.mp4', generated_at: new Date().toISOString() };
  writeFileSync(join(dir, 'media.json'), JSON.stringify(manifest, null, 1));
  return manifest;
}

const pending = new Map();

/**
 * Makes sure the media for `params` exist (generating them the first time, ~8 s on 2 cores) and
 * resolves to their manifest plus `dir`. Concurrent callers, also in other processes, are safe: each
 * generates into its own temporary folder and the first atomic rename wins.
 */
export function ensureMedia(params = MEDIA_PARAMS) {
  const withText = existsSync(FONT);
  const key = cacheKey(params, withText);
  if (!pending.has(key)) {
    const dir = join(MEDIA_ROOT, key);
    const load = () => ({ ...JSON.parse(readFileSync(join(dir, 'media.json'), 'utf8')), dir });
    pending.set(key, (async () => {
      if (existsSync(join(dir, 'media.json'))) return load();
      mkdirSync(MEDIA_ROOT, { recursive: true });
      const tmp = join(MEDIA_ROOT, `.tmp-${key}-${process.pid}-${Date.now()}`);
      mkdirSync(tmp);
      try {
        await generate(tmp, params, withText);
        try {
          renameSync(tmp, dir);
        } catch (e) {
          if (!existsSync(join(dir, 'media.json'))) throw e; // someone else won the race: use theirs
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      return load();
    })());
    pending.get(key).catch(() => pending.delete(key)); // a failed generation may be retried
  }
  return pending.get(key);
}

// ---- derived test media (made from the cached clip.mp4, cached beside it) ----

/** Source frames of clip.mp4 left out of freeze.mp4 (inclusive ranges): gaps of 9 and 18 frames. */
export const FREEZE_DROPS = Object.freeze([[100, 107], [250, 266]]);
/** Byte range of clip.mp4 (fractions of the file) overwritten with noise in broken.mp4. */
const BROKEN_SPAN = [0.2, 0.27];

function probePts(file) {
  return new Promise((ok, fail) => {
    const child = spawn(FFMPEG.replace(/ffmpeg$/, 'ffprobe'), ['-v', 'error', '-select_streams', 'v:0',
      '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0
      ? ok(out.split('\n').map(Number.parseFloat).filter(Number.isFinite).sort((a, b) => a - b))
      : fail(new Error(`ffprobe exited ${code}`))));
  });
}

const derivedPending = new Map();

/**
 * Derived clips for the player tests, made once next to clip.mp4 (`media` = ensureMedia()):
 * - `freeze.mp4`: clip.mp4's video (no audio) with the source frames of FREEZE_DROPS removed and
 *   every other frame kept at its original time, so the previous picture stays on screen for the
 *   whole gap while the clock runs on: real render freezes with no buffering. `truth.pts_s` are
 *   the frame times ffprobe reads back from the file (the gaps' truth).
 * - `broken.mp4`: clip.mp4 with BROKEN_SPAN of its bytes (inside the media data) replaced by
 *   seeded noise: the moov is intact, so it starts, and decoding fails when playback gets there.
 * Resolves to { file, truth }.
 */
export function ensureDerived(media, name) {
  const key = `${media.dir}/${name}`;
  if (!derivedPending.has(key)) {
    derivedPending.set(key, (async () => {
      const file = join(media.dir, name);
      const truthFile = `${file}.json`;
      if (existsSync(truthFile)) return { file, truth: JSON.parse(readFileSync(truthFile, 'utf8')) };
      const tmp = `${file}.tmp-${process.pid}`;
      let truth;
      if (name === 'freeze.mp4') {
        const keep = FREEZE_DROPS.map(([a, b]) => `between(n\\,${a}\\,${b})`).join('+');
        await run(['-hide_banner', '-loglevel', 'error', '-y', '-i', join(media.dir, media.clip), '-an',
          '-vf', `select='not(${keep})'`, '-fps_mode', 'passthrough', '-c:v', 'libx264', '-preset', 'veryfast',
          '-profile:v', 'main', '-g', '25', '-bf', '0', '-movflags', '+faststart', '-f', 'mp4', tmp]);
        truth = { drops: FREEZE_DROPS, pts_s: await probePts(tmp) };
      } else if (name === 'broken.mp4') {
        const bytes = readFileSync(join(media.dir, media.clip));
        const [a, b] = BROKEN_SPAN.map((f) => Math.floor(f * bytes.length));
        let x = 0x2545f491;
        for (let i = a; i < b; i++) {
          x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32
          bytes[i] = x & 0xff;
        }
        writeFileSync(tmp, bytes);
        truth = { corrupt_bytes: [a, b], size: bytes.length };
      } else {
        throw Object.assign(new Error('no such derived media'), { status: 404 });
      }
      renameSync(tmp, file);
      writeFileSync(truthFile, JSON.stringify(truth));
      return { file, truth };
    })());
    derivedPending.get(key).catch(() => derivedPending.delete(key));
  }
  return derivedPending.get(key);
}

/**
 * Serves a file with single-range support (what <video src> uses to seek): 200 for the whole file,
 * 206 for `Range: bytes=a-b`, 416 when unsatisfiable. HEAD sends the headers only.
 */
export function sendFile(req, res, file, type) {
  let size;
  try {
    size = statSync(file).size;
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  const head = { 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'no-store' };
  let start = 0;
  let end = size - 1;
  let status = 200;
  const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (m && (m[1] !== '' || m[2] !== '')) {
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]));
    } else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start > end || start >= size) {
      res.writeHead(416, { ...head, 'content-range': `bytes */${size}` });
      res.end();
      return;
    }
    status = 206;
    head['content-range'] = `bytes ${start}-${end}/${size}`;
  }
  head['content-length'] = end - start + 1;
  res.writeHead(status, head);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file, { start, end }).pipe(res);
}
