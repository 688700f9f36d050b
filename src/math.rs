//! Floating-point functions the standard library would give, from `libm` so that the native
//! tests and the `no_std` player build compute bit-identical results.

/// e^x.
#[inline]
pub(crate) fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// The square root of x (NaN for x < 0).
#[inline]
pub(crate) fn sqrt(x: f64) -> f64 {
    libm::sqrt(x)
}
