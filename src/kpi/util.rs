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
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 56));
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

/// Maps strings to dense `u32` ids (0, 1, 2, ...) and back. No allocation per key: the names
/// live in one arena string, the table is open addressing over `u32` slots (linear probing).
#[derive(Default, Debug, Clone)]
pub(crate) struct Interner {
    /// All names, concatenated.
    arena: String,
    /// End offset of name `i` in `arena` (its start is the previous end).
    ends: Vec<usize>,
    /// Low 32 bits of each name's hash (cheap rejection before comparing bytes, and rehash).
    hashes: Vec<u32>,
    /// Slot → id + 1 (0 = empty). Length is a power of two (or 0).
    slots: Vec<u32>,
}

impl Interner {
    fn name_at(&self, i: usize) -> &str {
        let a = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.arena[a..self.ends[i]]
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(64);
        let mask = cap - 1;
        let mut slots = vec![0u32; cap];
        for (i, &h) in self.hashes.iter().enumerate() {
            let mut j = h as usize & mask;
            while slots[j] != 0 {
                j = (j + 1) & mask;
            }
            slots[j] = i as u32 + 1;
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
        // hash fits 32 bits: the slot index uses its low bits
        let h = str_hash(s) as u32;
        if self.slots.is_empty() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut j = h as usize & mask;
        loop {
            let k = self.slots[j];
            if k == 0 {
                break;
            }
            let i = (k - 1) as usize;
            if self.hashes[i] == h && self.name_at(i) == s {
                return Some(k - 1);
            }
            j = (j + 1) & mask;
        }
        let i = self.ends.len();
        if i >= (NONE - 1) as usize || i >= max_keys || s.len() > max_len {
            return None;
        }
        self.arena.push_str(s);
        self.ends.push(self.arena.len());
        self.hashes.push(h);
        self.slots[j] = i as u32 + 1;
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
            let mut j = self.hashes[i] as usize & mask;
            while self.slots[j] != i as u32 + 1 {
                j = (j + 1) & mask;
            }
            self.slots[j] = 0;
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
            + self.slots.capacity() * 4
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
/// 1-second buckets (the last bucket takes everything above) plus, per non-empty bucket, a sorted
/// map of exact values. Used for per-viewer watch-time quantiles without scanning viewers.
#[derive(Clone, Debug, Default)]
pub(crate) struct RankIndex {
    fen: Vec<u32>,
    buckets: FxMap<u32, std::collections::BTreeMap<i64, u32>>,
    len: u64,
}

const RANK_BUCKETS: usize = 1 << 16;
const RANK_WIDTH: i64 = 1000;

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

    /// Heap bytes held (approximate: B-tree nodes counted at 32 bytes per value).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.fen.capacity() * 4
            + self.buckets.capacity() * 33
            + self.buckets.values().map(|b| b.len() * 32).sum::<usize>()
    }

    /// Number of values.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Adds one copy of `v`.
    pub(crate) fn insert(&mut self, v: i64) {
        let b = Self::bucket(v);
        self.fen_add(b, 1);
        *self
            .buckets
            .entry(b as u32)
            .or_default()
            .entry(v)
            .or_insert(0) += 1;
        self.len += 1;
    }

    /// Removes one copy of `v` (no-op when absent).
    pub(crate) fn remove(&mut self, v: i64) {
        let b = Self::bucket(v);
        let Some(m) = self.buckets.get_mut(&(b as u32)) else {
            return;
        };
        let Some(c) = m.get_mut(&v) else {
            return;
        };
        *c -= 1;
        if *c == 0 {
            m.remove(&v);
            if m.is_empty() {
                self.buckets.remove(&(b as u32));
            }
        }
        self.fen_add(b, -1);
        self.len -= 1;
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
        let m = self.buckets.get(&(pos as u32))?;
        let mut seen = 0u64;
        for (&v, &c) in m {
            seen += c as u64;
            if seen >= rest {
                return Some(v);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Interner;

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
