// See autoplay.html. window.rec: the page's own record of the element (www/test/harness.js).
import { makeVideo } from '/test/harness.js';
import { attach } from '/pkg/dist/player/index.js';

const rec = (window.rec = makeVideo({ src: '/media/clip.mp4', muted: false }));
const qoe = (window.qoe = attach(rec.video));
document.getElementById('play').addEventListener('click', () => { rec.play(); });
// What a player does on load: try autoplay, and tell the monitor when the browser refuses.
qoe.playIntent(true);
await rec.play();
if (rec.plays[0].error === 'NotAllowedError') qoe.autoplayBlocked();
window.autoplayTried = true;
