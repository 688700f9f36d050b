// The CMCD v1 (CTA-5004) writer of a view, in the player's main bundle: the wasm CmcdSession
// writes each request's payload from the monitor's state (sid, cid, su, bs) and what the player
// adapter knows of the requested object. The hls.js loader wrapper that asks for it is in
// livekpi/player/cmcd (`cmcdHls`), so pages that send no CMCD do not download it.
import { CmcdSession } from '../dist/player/livekpi_player.js';

/**
 * The view's CMCD v1 writer: `request(info, o, roomId)` for an adapter (`{ query }` or
 * `{ headers }` per `o.mode`), `query(...)` for `qoe.cmcdQuery`. One `bs` mark for both.
 */
export function startCmcd(monitor, sessionId, now, video) {
  let session = null;
  let st = 0; // stream type (2 live, 1 VOD) once a playlist was read
  const get = (cid) => (session ??= new CmcdSession(sessionId, String(cid ?? ''), 2));
  return {
    request: (info, o = {}, roomId = '') => {
      if (info.live !== undefined) st = info.live ? 2 : 1;
      const headers = o.mode === 'headers';
      const v = get(o.contentId ?? roomId).request(monitor, now(), headers, st, info.ot,
        info.bl ?? NaN, info.br ?? NaN, info.tb ?? NaN, info.mtp ?? NaN, info.d ?? NaN,
        o.rtpFactor > 0 ? info.br * o.rtpFactor : NaN, video.playbackRate, info.nor ?? '');
      return !v ? undefined : headers
        ? { headers: Object.fromEntries(v.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)])) }
        : { query: v };
    },
    query: (roomId, bl, mtp, tb, d) => get(roomId).request(monitor, now(), false, 2, 0, bl ?? NaN, NaN, tb ?? NaN, mtp ?? NaN, d ?? NaN, NaN, NaN, ''),
  };
}
