//! Low-level CMCD payload writing: RFC 8941 dictionary members (integers, decimals, strings,
//! tokens, booleans, inner lists) into a `String`, optionally percent-encoded as
//! `encodeURIComponent` does, without any formatting machinery (player size).

use alloc::string::String;

/// Largest RFC 8941 integer (15 digits), the bound for every CMCD integer.
pub(crate) const MAX_INT: u64 = 999_999_999_999_999;

/// `x` rounded to the nearest integer, halves up (JavaScript `Math.round` for `x ≥ 0`), when `x`
/// is finite, ≥ 0 and the result fits an RFC 8941 integer; `None` otherwise.
pub(crate) fn int(x: Option<f64>) -> Option<u64> {
    let x = x?;
    if !(x >= 0.0 && x.is_finite()) {
        return None;
    }
    let r = libm::floor(x + 0.5);
    (r <= MAX_INT as f64).then_some(r as u64)
}

/// `x` rounded to the nearest multiple of 100 (halves up), with the same validity rules as
/// [`int`].
pub(crate) fn hundred(x: Option<f64>) -> Option<u64> {
    let x = x?;
    if !(x >= 0.0 && x.is_finite()) {
        return None;
    }
    let r = libm::floor(x / 100.0 + 0.5) * 100.0;
    (r <= MAX_INT as f64).then_some(r as u64)
}

/// `x` as an RFC 8941 decimal in thousandths (rounded half to even at the third fractional
/// digit), when finite, ≥ 0 and its integer part has at most 12 digits.
pub(crate) fn milli(x: Option<f64>) -> Option<u64> {
    let x = x?;
    if !(x >= 0.0 && x.is_finite()) {
        return None;
    }
    let s = x * 1000.0;
    if s >= 1e15 {
        return None;
    }
    let f = libm::floor(s);
    let d = s - f;
    // Parity on the integer (f < 1e15 is exact in both types); no f64 remainder (player size).
    let whole = f as u64;
    Some(if d > 0.5 || (d == 0.5 && whole & 1 == 1) {
        whole + 1
    } else {
        whole
    })
    .filter(|r| *r < 1_000_000_000_000_000)
}

/// `s` is a CMCD string value: 1..=`max` bytes, all printable ASCII (RFC 8941 sf-string).
pub(crate) fn text_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// `s` is a byte range as CMCD `nrr` allows it: `<start>-`, `<start>-<end>` or `-<suffix>`
/// (decimal digits, one hyphen, not both sides empty).
pub(crate) fn range_ok(s: &str) -> bool {
    let Some((a, b)) = s.split_once('-') else {
        return false;
    };
    let digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    s.len() <= 64 && digits(a) && digits(b) && !(a.is_empty() && b.is_empty())
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Whether `encodeURIComponent` leaves the byte as it is.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

/// Appends `s` percent-encoded as `encodeURIComponent` does (UTF-8 bytes, uppercase hex).
pub fn push_uri_component(out: &mut String, s: &str) {
    for b in s.bytes() {
        if unreserved(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// Decimal digits of `n` (most significant first) in a stack buffer; returns the used tail.
fn digits(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// One RFC 8941 dictionary being written (`key=value` members joined by `,`, no spaces), either
/// as it is (header value, event line) or percent-encoded (query argument value).
pub(crate) struct Dict<'o> {
    out: &'o mut String,
    url: bool,
    members: usize,
}

impl<'o> Dict<'o> {
    pub(crate) fn new(out: &'o mut String, url: bool) -> Self {
        Dict {
            out,
            url,
            members: 0,
        }
    }

    /// Appends raw payload text (encoded in query mode).
    fn raw(&mut self, s: &str) {
        if self.url {
            push_uri_component(self.out, s);
        } else {
            self.out.push_str(s);
        }
    }

    fn num(&mut self, n: u64) {
        let mut buf = [0u8; 20];
        // Digits are ASCII and never need encoding.
        for &d in digits(n, &mut buf) {
            self.out.push(d as char);
        }
    }

    /// Starts a member: the separator and the key.
    fn key(&mut self, k: &str) {
        if self.members > 0 {
            self.raw(",");
        }
        self.members += 1;
        self.raw(k);
    }

    /// `k` alone: a boolean true.
    pub(crate) fn flag(&mut self, k: &str) {
        self.key(k);
    }

    /// `k=?0`: a boolean false (only where the spec wants a false sent).
    pub(crate) fn flag_false(&mut self, k: &str) {
        self.key(k);
        self.raw("=?0");
    }

    /// `k=<integer>`.
    pub(crate) fn int(&mut self, k: &str, n: u64) {
        self.key(k);
        self.raw("=");
        self.num(n);
    }

    /// `k=(<integer> <integer> …)`: an inner list of integers without parameters.
    pub(crate) fn int_list(&mut self, k: &str, ns: impl Iterator<Item = u64>) {
        self.key(k);
        self.raw("=(");
        for (i, n) in ns.enumerate() {
            if i > 0 {
                self.raw(" ");
            }
            self.num(n);
        }
        self.raw(")");
    }

    /// `k=<decimal>` from thousandths: integer part, `.`, 1–3 fractional digits without
    /// trailing zeros (RFC 8941 §4.1.5).
    pub(crate) fn decimal(&mut self, k: &str, milli: u64) {
        self.key(k);
        self.raw("=");
        self.num(milli / 1000);
        self.raw(".");
        let mut frac = milli % 1000;
        let mut width = 3;
        while width > 1 && frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        let mut buf = [0u8; 20];
        let ds = digits(frac, &mut buf);
        for _ in ds.len()..width {
            self.out.push('0');
        }
        for &d in ds {
            self.out.push(d as char);
        }
    }

    /// `k=<token>` (the caller passes a valid token).
    pub(crate) fn token(&mut self, k: &str, t: &str) {
        self.key(k);
        self.raw("=");
        self.raw(t);
    }

    /// The quoted sf-string of `s` (printable ASCII checked by the caller), `"` and `\` escaped;
    /// with `uri`, the content is first percent-encoded (CMCD v1 `nor`).
    fn quoted(&mut self, s: &str, uri: bool) {
        self.raw("\"");
        if uri {
            let mut tmp = String::with_capacity(s.len() + 8);
            push_uri_component(&mut tmp, s);
            self.raw(&tmp);
        } else {
            // Byte by byte (printable ASCII, checked by the caller): no string slicing, whose
            // boundary checks would bring panic-message formatting into the player build.
            let mut one = [0u8; 1];
            for b in s.bytes() {
                if b == b'"' || b == b'\\' {
                    self.raw("\\");
                }
                one[0] = b;
                self.raw(core::str::from_utf8(&one).unwrap_or(""));
            }
        }
        self.raw("\"");
    }

    /// `k="<string>"`.
    pub(crate) fn string(&mut self, k: &str, s: &str) {
        self.key(k);
        self.raw("=");
        self.quoted(s, false);
    }

    /// `k="<percent-encoded string>"` (CMCD v1 `nor`).
    pub(crate) fn uri_string(&mut self, k: &str, s: &str) {
        self.key(k);
        self.raw("=");
        self.quoted(s, true);
    }

    /// `k=("<string>")`: an inner list of one string.
    pub(crate) fn string_list1(&mut self, k: &str, s: &str) {
        self.key(k);
        self.raw("=(");
        self.quoted(s, false);
        self.raw(")");
    }
}
