// Reader of the snapshot tape that src/tape writes (the layout is documented there): rebuilds
// the value as plain objects in one pass, so that a KPI snapshot crosses the wasm boundary
// once instead of once per field. A reader belongs to one room's writer: it keeps the field
// names it was sent, and the rows of each row list by slot (shared, frozen, between snapshots).
// It never calls into wasm (the tape is a view of wasm memory while it reads).

/** A reader with nothing sent yet. */
export function newTapeReader() {
  return { keys: [], rows: [] };
}

let T = null; // the tape (Float64Array)
let P = 0; // position in T
let X = ''; // the text
let Q = 0; // position in X
let K = null; // the reader's keys

function text(n) {
  const s = X.slice(Q, Q + n);
  Q += n;
  return s;
}

function value() {
  switch (T[P++]) {
    case 3: return T[P++];
    case 6: {
      const n = T[P++];
      const o = {};
      for (let i = 0; i < n; i++) {
        const k = T[P++];
        if (k < 0) {
          // a map key: defined, never assigned (a key such as "__proto__" stays a plain field)
          Object.defineProperty(o, text(-2 - k), { value: value(), writable: true, enumerable: true, configurable: true });
        } else if (T[P] === 3) { // a number, the most frequent field (no call)
          o[K[k]] = T[P + 1];
          P += 2;
        } else {
          o[K[k]] = value();
        }
      }
      return o;
    }
    case 0: return null;
    case 4: return text(T[P++]);
    case 5: {
      const n = T[P++];
      const a = new Array(n);
      for (let i = 0; i < n; i++) a[i] = value();
      return a;
    }
    case 1: return false;
    case 2: return true;
    default: throw new Error(`livekpi: bad snapshot tape (op ${T[P - 1]} at ${P - 1})`);
  }
}

function frozen(row) {
  for (const k in row) {
    const v = row[k];
    if (v !== null && typeof v === 'object') Object.freeze(v);
  }
  return Object.freeze(row);
}

/** Reads tape `t` (numbers) with its `text`; the reader learns the keys and rows it carries. */
export function readTape(reader, t, text_) {
  if (t[0] !== 1) throw new Error(`livekpi: snapshot tape version ${t[0]}, expected 1`);
  const keys = reader.keys;
  const end = t[1];
  let q = t[2];
  for (let i = 0, n = t[end]; i < n; i++) {
    const len = t[end + 1 + i];
    keys.push(text_.slice(q, q + len));
    q += len;
  }
  T = t; P = 3; X = text_; Q = 0; K = keys;
  try {
    const root = value();
    for (let list = 0; P < end; list++) {
      let at = root;
      const depth = T[P++];
      for (let i = 0; i < depth - 1; i++) at = at[K[T[P++]]];
      const field = K[T[P++]];
      const n = T[P++];
      const cache = (reader.rows[list] ??= []);
      const rows = new Array(n);
      for (let i = 0; i < n; i++) {
        const slot = T[P++];
        if (T[P++] === 1) cache[slot] = frozen(value());
        rows[i] = cache[slot];
      }
      at[field] = rows;
    }
    if (P !== end || Q !== t[2]) throw new Error('livekpi: bad snapshot tape (length)');
    return root;
  } finally {
    T = null; X = ''; K = null;
  }
}
