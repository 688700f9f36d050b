// Helper of Room.ingestColumns (src/web/console.rs): a batch's string table crosses into wasm
// as one UTF-8 buffer plus each entry's UTF-16 length, instead of one crossing (and one
// allocation) per string. Each entry is read exactly once (a getter cannot hand out two
// different values).

const utf8 = new TextEncoder();

/** Writes each entry's UTF-16 length into `lengths` and returns the entries' text back to back
 * as UTF-8 (lone surrogates become U+FFFD), or `undefined` when an entry is not a string (the
 * caller then names it). */
export function packStrings(strings, lengths) {
  const n = lengths.length;
  const read = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    if (typeof s !== 'string') return undefined;
    lengths[i] = s.length;
    read[i] = s;
  }
  return utf8.encode(read.join(''));
}
