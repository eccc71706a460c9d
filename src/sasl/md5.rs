//! HMAC-MD5 (RFC 2104) for CRAM-MD5 (RFC 2195), on RustCrypto's `md-5`
//! and `hmac`.

use hmac::{Hmac, Mac};
use md5::Md5;

/// HMAC-MD5 of `data` under `key` (RFC 2104 §2; any key length).
pub(crate) fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    // `new_from_slice` fails only for MACs with fixed key sizes; HMAC
    // hashes a long key and pads a short one (RFC 2104 §3).
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex, as CRAM-MD5 sends the digest (RFC 2195 §2).
pub(crate) fn hex(digest: &[u8; 16]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for &b in digest {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_md5_rfc2104_and_rfc2195_examples() {
        // RFC 2104 Appendix test vectors 1 and 2.
        assert_eq!(
            hex(&hmac_md5(&[0x0b; 16], b"Hi There")),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
        assert_eq!(
            hex(&hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        // A key longer than the 64-octet block is hashed first (RFC 2104 §2;
        // RFC 2202 test case 6).
        assert_eq!(
            hex(&hmac_md5(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
        // RFC 2195 §2: tim / tanstaaftanstaaf.
        assert_eq!(
            hex(&hmac_md5(
                b"tanstaaftanstaaf",
                b"<1896.697170952@postoffice.reston.mci.net>"
            )),
            "b913a602c7eda7a495b4e6e7334d3890"
        );
    }
}
