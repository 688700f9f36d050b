// Test harness for the player test pages: a <video> with the page's own record of what happened
// to it — every presented frame from requestVideoFrameCallback (the method as it was when this
// module loaded, so a test can delete it for the monitor afterwards and still keep its truth), the
// media events with the element's state, the play() calls and their outcome, and the playback
// quality counters at the first frame. Nothing here comes from livekpi/player.
const rvfc = globalThis.HTMLVideoElement?.prototype.requestVideoFrameCallback;

/** Wall-clock ms on the page's platform clock (an event's timeStamp: performance.now may be patched). */
export const wall = () => performance.timeOrigin + new Event('x').timeStamp;

/** Creates a recorded <video> (appended to `parent`), optionally with a source. */
export function makeVideo({ src = null, muted = true, width = 320, height = 180, parent = document.body } = {}) {
  const video = document.createElement('video');
  video.muted = muted;
  video.playsInline = true;
  video.style.width = `${width}px`;
  video.style.height = `${height}px`;
  parent.append(video);
  const rec = { video, frames: [], events: [], plays: [], firstQuality: null };
  const onFrame = (now, m) => {
    if (!rec.frames.length) {
      const q = video.getVideoPlaybackQuality?.();
      rec.firstQuality = q ? { dropped: q.droppedVideoFrames, total: q.totalVideoFrames } : null;
    }
    rec.frames.push({ now_ms: performance.timeOrigin + now, wall_ms: performance.timeOrigin + m.presentationTime,
      display_ms: performance.timeOrigin + m.expectedDisplayTime, media_time: m.mediaTime, current_time: video.currentTime });
    rvfc.call(video, onFrame);
  };
  if (rvfc) rvfc.call(video, onFrame);
  for (const type of ['loadstart', 'play', 'playing', 'pause', 'waiting', 'seeking', 'seeked', 'ended', 'error', 'canplay'])
    video.addEventListener(type, () => rec.events.push({ type, wall_ms: wall(), t: video.currentTime, paused: video.paused, error: video.error?.code ?? null }));
  /** play() with its call time, outcome and when the promise settled ({ at_ms, ok, error, settled_ms }). */
  rec.play = () => {
    const call = { at_ms: wall(), ok: null, error: null, settled_ms: null };
    rec.plays.push(call);
    return video.play().then(() => { call.ok = true; call.settled_ms = wall(); }, (e) => { call.ok = false; call.error = e.name; call.settled_ms = wall(); });
  };
  /** The playback quality counters now. */
  rec.quality = () => {
    const q = video.getVideoPlaybackQuality();
    return { dropped: q.droppedVideoFrames, total: q.totalVideoFrames };
  };
  if (src) video.src = src;
  return rec;
}
