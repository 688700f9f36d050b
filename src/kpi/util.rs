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

/// Maps strings to dense `u32` ids (0, 1, 2, ...) and back.
#[derive(Default, Debug, Clone)]
pub(crate) struct Interner {
    map: FxMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// Id of `s`, inserting it when new. Returns [`NONE`] when the table is full.
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.names.len();
        if i >= NONE as usize {
            return NONE;
        }
        let b: Box<str> = s.into();
        self.names.push(b.clone());
        self.map.insert(b, i as u32);
        i as u32
    }
    /// The string of an id ("" for unknown ids).
    pub(crate) fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map(|b| &**b).unwrap_or("")
    }
}
