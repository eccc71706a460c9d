//! CRC32c (Castagnoli), the checksum of the `PP2_TYPE_CRC32C` TLV
//! (PROXY protocol §2.2.3, computed as RFC 4960 Appendix B describes).

/// The reflected Castagnoli polynomial.
const POLY: u32 = 0x82f6_3b78;

/// One table entry per octet value, built at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The CRC32c of `data`.
pub(super) fn crc32c(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::crc32c;

    /// The check value of CRC-32C, and RFC 3720 §B.4's test vectors (the
    /// same CRC as RFC 4960 Appendix B).
    #[test]
    fn known_vectors_rfc4960_appendix_b() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62a8_ab43);
        let ascending: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&ascending), 0x46dd_794e);
        assert_eq!(crc32c(b""), 0);
    }
}
