//! Small internal helpers: a fast non-cryptographic hasher and a string interner.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash-style hasher (rotate, xor, multiply). Deterministic across runs.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // the tail as a little-endian word (zero-padded) without a variable-length copy
            // (a `memcpy` call per short key was a tenth of the columnar ingestion time)
            self.write_u64(le_tail(rest) ^ ((rest.len() as u64) << 56));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64)
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64)
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64)
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64)
    }
    fn finish(&self) -> u64 {
        // final avalanche so the low bits (the bucket index) depend on every input bit
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 29)
    }
}

/// 1–7 bytes as a little-endian `u64`, zero-padded (at most two overlapping loads).
#[inline(always)]
fn le_tail(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 4 {
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
        let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]) as u64;
        lo | (hi << ((n - 4) * 8))
    } else {
        let mut x = 0u64;
        for (i, &c) in b.iter().enumerate() {
            x |= (c as u64) << (i * 8);
        }
        x
    }
}

/// `a == b` for slices of one length, at least 8 bytes: compared a word at a time (the last
/// word overlapping), where `==` would call `memcmp` (a byte loop in wasm).
#[inline(always)]
fn eq_long(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() || n < 8 {
        return a == b;
    }
    let w = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    let mut i = 0;
    while i + 8 < n {
        if w(a, i) != w(b, i) {
            return false;
        }
        i += 8;
    }
    w(a, n - 8) == w(b, n - 8)
}

/// HashMap with the Fx hasher.
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// Hash of a string with the Fx hasher (stable across runs and platforms).
pub(crate) fn str_hash(s: &str) -> u64 {
    let mut h = Fx(0x9e37_79b9_7f4a_7c15);
    h.write(s.as_bytes());
    h.write_u64(s.len() as u64);
    h.finish()
}

/// Marker for "no interned value".
pub(crate) const NONE: u32 = u32::MAX;

/// One slot of the [`Interner`] table: enough to accept or reject a key without touching the
/// per-id arrays. `tag` = high hash bits with the key length (capped at 255) in its low byte;
/// `data` = the key's bytes as a zero-padded little-endian word when it is at most 8 bytes long
/// (the usual short ids: no other memory is read), else its start offset in the arena.
#[derive(Default, Debug, Clone, Copy)]
struct Slot {
    tag: u32,
    /// Id + 1 (0 = empty).
    id1: u32,
    data: u64,
}

/// The key's bytes as a zero-padded little-endian word (keys of at most 8 bytes).
#[inline(always)]
fn le_word(b: &[u8]) -> u64 {
    match b.len() {
        0 => 0,
        8 => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        _ => le_tail(b),
    }
}

/// Maps strings to dense `u32` ids (0, 1, 2, ...) and back. No allocation per key: the names
/// live in one arena string, the table is open addressing (linear probing) over 16-byte slots
/// that hold short keys inline, so a lookup usually reads one cache line.
#[derive(Default, Debug, Clone)]
pub(crate) struct Interner {
    /// All names, concatenated.
    arena: String,
    /// End offset of name `i` in `arena` (its start is the previous end).
    ends: Vec<usize>,
    /// Low 32 bits of each name's hash (the slot index: rehash and rollback).
    hashes: Vec<u32>,
    /// Length is a power of two (or 0).
    slots: Vec<Slot>,
    /// Recently used keys, direct-mapped by hash ([`HOT`] slots once the table is large): the
    /// keys of a live stream's active sessions and viewers recur batch after batch, and this
    /// small table stays in cache where the large one does not.
    hot: Vec<Slot>,
}

/// Size of [`Interner::hot`], allocated once the table has this many slots.
const HOT: usize = 4096;

/// Index of a hash's low 32 bits in [`Interner::hot`] (bits the main index uses last).
#[inline(always)]
fn hot_index(h: u32) -> usize {
    (h >> 20) as usize & (HOT - 1)
}

impl Interner {
    fn name_at(&self, i: usize) -> &str {
        let a = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.arena[a..self.ends[i]]
    }

    /// True when slot `sl` holds key `b` (`tag`, and `word` for keys of at most 8 bytes).
    #[inline(always)]
    fn slot_is(&self, sl: &Slot, tag: u32, word: u64, b: &[u8]) -> bool {
        if sl.tag != tag || sl.id1 == 0 {
            return false;
        }
        let n = b.len();
        if n <= 8 {
            sl.data == word
        } else if n < 255 {
            let a = sl.data as usize;
            self.arena
                .as_bytes()
                .get(a..a + n)
                .is_some_and(|k| eq_long(k, b))
        } else {
            self.name_at((sl.id1 - 1) as usize).as_bytes() == b
        }
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(64);
        if cap >= HOT && self.hot.is_empty() {
            self.hot = vec![Slot::default(); HOT];
        }
        let mask = cap - 1;
        // re-insert in id order, so that rolling back the newest ids stays exact (`truncate`)
        let mut by_id = vec![Slot::default(); self.ends.len()];
        for sl in self.slots.iter().filter(|sl| sl.id1 != 0) {
            by_id[(sl.id1 - 1) as usize] = *sl;
        }
        let mut slots = vec![Slot::default(); cap];
        for (sl, &h) in by_id.iter().zip(&self.hashes) {
            let mut j = h as usize & mask;
            while slots[j].id1 != 0 {
                j = (j + 1) & mask;
            }
            slots[j] = *sl;
        }
        self.slots = slots;
    }

    /// Id of `s`, inserting it when new and the table holds fewer than `max_keys` strings and
    /// `s` is at most `max_len` bytes; `None` when a new string would pass a cap.
    #[inline]
    pub(crate) fn intern_capped(
        &mut self,
        s: &str,
        max_keys: usize,
        max_len: usize,
    ) -> Option<u32> {
        self.intern_inner(s, max_keys, max_len)
    }

    #[inline]
    fn intern_inner(&mut self, s: &str, max_keys: usize, max_len: usize) -> Option<u32> {
        let h64 = str_hash(s);
        // the slot index uses the low bits, the tag the high ones
        let h = h64 as u32;
        let b = s.as_bytes();
        let n = b.len();
        let tag = ((h64 >> 32) as u32 & !0xff) | n.min(255) as u32;
        let short = n <= 8;
        let word = if short { le_word(b) } else { 0 };
        if self.slots.is_empty() {
            self.grow();
        }
        let hi = hot_index(h);
        if let Some(sl) = self.hot.get(hi) {
            if self.slot_is(sl, tag, word, b) {
                return Some(sl.id1 - 1);
            }
        }
        let mask = self.slots.len() - 1;
        let mut j = h as usize & mask;
        loop {
            let sl = self.slots[j];
            if sl.id1 == 0 {
                break;
            }
            if self.slot_is(&sl, tag, word, b) {
                if let Some(e) = self.hot.get_mut(hi) {
                    *e = sl;
                }
                return Some(sl.id1 - 1);
            }
            j = (j + 1) & mask;
        }
        let i = self.ends.len();
        if i >= (NONE - 1) as usize || i >= max_keys || n > max_len {
            return None;
        }
        let a = self.arena.len();
        self.arena.push_str(s);
        self.ends.push(self.arena.len());
        self.hashes.push(h);
        let sl = Slot {
            tag,
            id1: i as u32 + 1,
            data: if short { word } else { a as u64 },
        };
        self.slots[j] = sl;
        if let Some(e) = self.hot.get_mut(hi) {
            *e = sl;
        }
        if (i + 1) * 4 >= self.slots.len() * 3 {
            self.grow();
        }
        Some(i as u32)
    }
    /// Number of interned strings.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Forgets every string interned after the first `n` (ids ≥ `n`), as if they had never been
    /// interned: the table is linear probing without deletions, so clearing the slots of the
    /// newest ids, newest first, restores the table of the first `n` exactly (a rehash
    /// re-inserts in id order).
    pub(crate) fn truncate(&mut self, n: usize) {
        if n >= self.ends.len() {
            return;
        }
        let mask = self.slots.len() - 1;
        for i in (n..self.ends.len()).rev() {
            let h = self.hashes[i];
            let mut j = h as usize & mask;
            while self.slots[j].id1 != i as u32 + 1 {
                j = (j + 1) & mask;
            }
            self.slots[j] = Slot::default();
            if let Some(e) = self.hot.get_mut(hot_index(h)) {
                if e.id1 == i as u32 + 1 {
                    *e = Slot::default();
                }
            }
        }
        self.arena
            .truncate(if n == 0 { 0 } else { self.ends[n - 1] });
        self.ends.truncate(n);
        self.hashes.truncate(n);
    }

    /// Heap bytes held (capacities).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.ends.capacity() * 8
            + self.hashes.capacity() * 4
            + (self.slots.capacity() + self.hot.capacity()) * std::mem::size_of::<Slot>()
    }
    /// The string of an id ("" for unknown ids).
    pub(crate) fn name(&self, i: u32) -> &str {
        if (i as usize) < self.ends.len() {
            self.name_at(i as usize)
        } else {
            ""
        }
    }
}

/// Exact multiset of integers with O(log) insert / remove / k-th smallest: a Fenwick tree over
/// 1-second buckets (the last bucket takes everything above 72.8 h) plus the exact values of each
/// non-empty bucket: a sorted vector of (value, count) while it holds few distinct values, then
/// (inner buckets only) a count per millisecond. Used for per-viewer watch-time quantiles without
/// scanning viewers.
#[derive(Clone, Debug, Default)]
pub(crate) struct RankIndex {
    fen: Vec<u32>,
    buckets: FxMap<u32, Bucket>,
    len: u64,
}

/// The exact values of one bucket.
#[derive(Clone, Debug)]
enum Bucket {
    /// Distinct values with their counts, sorted by value.
    Sparse(Vec<(i64, u32)>),
    /// Count per value offset inside the bucket (`RANK_WIDTH` of them).
    Dense(Box<[u32]>),
}

/// 2¹⁸ one-second buckets: 72.8 h, above the default 72 h minutes cap (watch times are clipped
/// to the minutes kept).
const RANK_BUCKETS: usize = 1 << 18;
const RANK_WIDTH: i64 = 1000;
/// Distinct values above which an inner bucket switches to a count per value (4 KB).
const RANK_SPARSE_MAX: usize = 48;

impl RankIndex {
    fn bucket(v: i64) -> usize {
        (v.max(0) / RANK_WIDTH).min(RANK_BUCKETS as i64 - 1) as usize
    }

    fn fen_add(&mut self, b: usize, d: i32) {
        if self.fen.is_empty() {
            self.fen = vec![0; RANK_BUCKETS + 1];
        }
        let mut i = b + 1;
        while i <= RANK_BUCKETS {
            self.fen[i] = self.fen[i].wrapping_add_signed(d);
            i += i & i.wrapping_neg();
        }
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.fen.capacity() * 4
            + self.buckets.capacity() * (1 + 4 + std::mem::size_of::<Bucket>())
            + self
                .buckets
                .values()
                .map(|b| match b {
                    Bucket::Sparse(v) => v.capacity() * std::mem::size_of::<(i64, u32)>(),
                    Bucket::Dense(c) => c.len() * 4,
                })
                .sum::<usize>()
    }

    /// Number of values.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// One more copy of `v` in bucket `b`'s values (the Fenwick tree not touched).
    fn add_value(&mut self, b: usize, v: i64) {
        let base = b as i64 * RANK_WIDTH;
        let m = self
            .buckets
            .entry(b as u32)
            .or_insert_with(|| Bucket::Sparse(Vec::new()));
        match m {
            Bucket::Dense(c) => c[(v - base) as usize] += 1,
            Bucket::Sparse(e) => match e.binary_search_by_key(&v, |e| e.0) {
                Ok(i) => e[i].1 += 1,
                Err(i) => {
                    let inner = b > 0 && b < RANK_BUCKETS - 1;
                    if inner && e.len() >= RANK_SPARSE_MAX {
                        let mut c = vec![0u32; RANK_WIDTH as usize].into_boxed_slice();
                        for &(x, n) in e.iter() {
                            c[(x - base) as usize] = n;
                        }
                        c[(v - base) as usize] = 1;
                        *m = Bucket::Dense(c);
                    } else {
                        e.insert(i, (v, 1));
                    }
                }
            },
        }
    }

    /// One copy fewer of `v` in bucket `b`'s values; false when absent.
    fn remove_value(&mut self, b: usize, v: i64) -> bool {
        let Some(m) = self.buckets.get_mut(&(b as u32)) else {
            return false;
        };
        match m {
            Bucket::Dense(c) => {
                let i = (v - b as i64 * RANK_WIDTH) as usize;
                if c[i] == 0 {
                    return false;
                }
                c[i] -= 1;
            }
            Bucket::Sparse(e) => {
                let Ok(i) = e.binary_search_by_key(&v, |e| e.0) else {
                    return false;
                };
                e[i].1 -= 1;
                if e[i].1 == 0 {
                    e.remove(i);
                }
            }
        }
        true
    }

    /// Adds one copy of `v`.
    pub(crate) fn insert(&mut self, v: i64) {
        let b = Self::bucket(v);
        self.fen_add(b, 1);
        self.add_value(b, v);
        self.len += 1;
    }

    /// Removes one copy of `v` (no-op when absent).
    pub(crate) fn remove(&mut self, v: i64) {
        let b = Self::bucket(v);
        if self.remove_value(b, v) {
            self.fen_add(b, -1);
            self.len -= 1;
        }
    }

    /// Replaces one copy of `old` by `new` (inserts `new` when `old` is absent); within one
    /// bucket the Fenwick tree is not touched.
    pub(crate) fn replace(&mut self, old: i64, new: i64) {
        let (bo, bn) = (Self::bucket(old), Self::bucket(new));
        if bo == bn && self.remove_value(bo, old) {
            self.add_value(bn, new);
        } else {
            self.remove(old);
            self.insert(new);
        }
    }

    /// The k-th smallest value (1-based), or None when k is 0 or > len.
    pub(crate) fn kth(&self, k: u64) -> Option<i64> {
        if k == 0 || k > self.len || self.fen.is_empty() {
            return None;
        }
        // Fenwick descent: largest prefix of buckets with count < k
        let mut pos = 0usize;
        let mut rest = k;
        let mut step = RANK_BUCKETS;
        while step > 0 {
            let next = pos + step;
            if next <= RANK_BUCKETS && (self.fen[next] as u64) < rest {
                pos = next;
                rest -= self.fen[next] as u64;
            }
            step >>= 1;
        }
        // bucket index `pos` holds the answer, at rank `rest` inside it
        let mut seen = 0u64;
        match self.buckets.get(&(pos as u32))? {
            Bucket::Sparse(e) => {
                for &(v, c) in e {
                    seen += c as u64;
                    if seen >= rest {
                        return Some(v);
                    }
                }
            }
            Bucket::Dense(c) => {
                for (i, &n) in c.iter().enumerate() {
                    seen += n as u64;
                    if seen >= rest {
                        return Some(pos as i64 * RANK_WIDTH + i as i64);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{eq_long, le_tail, Interner, RankIndex};

    /// Word-wise equality agrees with `==` at every length and position of a difference.
    #[test]
    fn eq_long_agrees_with_eq() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(eq_long(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 1;
                assert!(!eq_long(&a, &b), "n {n} at {at}");
            }
            assert!(!eq_long(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

    /// Buckets that turn dense (many distinct values) and the sparse edge buckets (negative
    /// values, beyond 72.8 h) give every rank exactly as a sort does, through removes and
    /// replacements.
    #[test]
    fn rank_index_dense_and_sparse_buckets_match_sort() {
        let mut idx = RankIndex::default();
        let mut vals = Vec::new();
        let mut x: u64 = 7;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as i64
        };
        for i in 0..6000 {
            let v = match i % 4 {
                0 | 1 => 60_000 + next() % 2_500,
                2 => -(next() % 50),
                _ => 262_143_000 + next() % 100_000,
            };
            idx.insert(v);
            vals.push(v);
        }
        for i in 0..2000 {
            let at = (next() as usize) % vals.len();
            if i % 2 == 0 {
                idx.remove(vals.swap_remove(at));
            } else {
                let new = vals[at] + next() % 1_200 - 600;
                idx.replace(vals[at], new);
                vals[at] = new;
            }
        }
        idx.remove(59_999_999); // absent: no effect
        vals.sort_unstable();
        assert_eq!(idx.len(), vals.len() as u64);
        for (k, v) in vals.iter().enumerate() {
            assert_eq!(idx.kth(k as u64 + 1), Some(*v), "rank {}", k + 1);
        }
        assert_eq!(idx.kth(vals.len() as u64 + 1), None);
    }

    /// The tail word is the zero-padded little-endian copy (so hashes did not change).
    #[test]
    fn le_tail_is_the_padded_word() {
        let b = [0x81u8, 2, 0xf3, 4, 5, 0xa6, 7];
        for n in 1..=7 {
            let mut w = [0u8; 8];
            w[..n].copy_from_slice(&b[..n]);
            assert_eq!(le_tail(&b[..n]), u64::from_le_bytes(w), "{n}");
        }
    }

    /// Keys of every length class (inline ≤ 8 bytes, arena < 255, longer) are found again and
    /// told apart from keys sharing a prefix.
    #[test]
    fn interner_keys_of_every_length() {
        let mut t = Interner::default();
        let keys: Vec<String> = (1..300)
            .flat_map(|n| ["a", "é"].map(|c| c.repeat(n)))
            .chain((0..2000).map(|i| format!("k{i}")))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.intern_capped(k, usize::MAX, usize::MAX), Some(i as u32));
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.intern_capped(k, 0, 0), Some(i as u32));
            assert_eq!(t.name(i as u32), k);
        }
        assert_eq!(t.intern_capped("k20000", 0, 0), None);
        assert_eq!(t.intern_capped(&"a".repeat(300), 0, 0), None);
    }

    /// Rolling back to a mark, across table growths, leaves exactly the first `n` keys: they keep
    /// their ids, the others are unknown and get fresh ids from `n` again.
    #[test]
    fn interner_truncate_restores_the_prefix() {
        let mut t = Interner::default();
        let id = |t: &mut Interner, s: &str| t.intern_capped(s, usize::MAX, 256).unwrap();
        for i in 0..40 {
            assert_eq!(id(&mut t, &format!("k{i}")), i);
        }
        // 40 → 1,000 keys grows the slot table several times
        for i in 40..1000 {
            id(&mut t, &format!("k{i}"));
        }
        t.truncate(40);
        assert_eq!(t.len(), 40);
        for i in 0..40 {
            assert_eq!(id(&mut t, &format!("k{i}")), i);
            assert_eq!(t.name(i), format!("k{i}"));
        }
        assert_eq!(t.name(40), "");
        assert_eq!(id(&mut t, "k999"), 40);
        assert_eq!(id(&mut t, "k41"), 41);
        assert_eq!(t.len(), 42);
        t.truncate(0);
        assert_eq!((t.len(), t.name(0)), (0, ""));
        assert_eq!(id(&mut t, "k5"), 0);
    }
}
