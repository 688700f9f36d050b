//! Identifiers made from caller-supplied randomness (the core never draws randomness itself).

use alloc::string::String;

/// A viewing-session id: 128 random bits written as 32 lowercase hex digits.
///
/// The bytes come from the caller (the browser binding draws them with `getrandom`), so the
/// core stays deterministic and testable. No formatting machinery is used (player size).
pub fn session_id_from_bytes(bytes: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_is_32_lowercase_hex_digits_in_byte_order() {
        let mut bytes = [0u8; 16];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8) * 17;
        }
        assert_eq!(
            session_id_from_bytes(&bytes),
            "00112233445566778899aabbccddeeff"
        );
        assert_eq!(session_id_from_bytes(&[0xff; 16]), "f".repeat(32));
    }
}
