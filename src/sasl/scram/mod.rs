//! SCRAM (RFC 5802) with SHA-256 (RFC 7677) and SHA-1: the keys and
//! proofs (RustCrypto's `sha2`, `sha1`, `hmac` and `pbkdf2`), the
//! server's stored credentials, and the messages (`message.rs`); the
//! client's exchange is in `client.rs`, the server's checks in `server.rs`.
//!
//! Neither side draws random numbers: the nonces come from the driver.

mod client;
mod message;
pub(crate) mod server;

use std::fmt;

use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

pub(crate) use client::{Params as ScramParams, ScramClient};
pub use message::{
    escape_saslname, unescape_saslname, CbindFlag, ClientFinal, ClientFirst, Gs2Header,
    ServerFinal, ServerFirst,
};

use super::SaslError;
use crate::ehlo::Mechanism;

/// The fewest iterations accepted: RFC 7677 §4 asks for at least 4096.
pub const MIN_ITERATIONS: u32 = 4096;

/// The most iterations a client computes by default: a server that asks
/// for more could make it spin for minutes.
pub const DEFAULT_MAX_ITERATIONS: u32 = 1_000_000;

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScramHash {
    /// SHA-1: `SCRAM-SHA-1` (RFC 5802).
    Sha1,
    /// SHA-256: `SCRAM-SHA-256` (RFC 7677).
    Sha256,
}

impl ScramHash {
    /// The hash and whether channel binding is required (`-PLUS`) of a
    /// SCRAM mechanism; `None` for any other mechanism.
    pub fn of(mechanism: &Mechanism) -> Option<(ScramHash, bool)> {
        match mechanism {
            Mechanism::ScramSha1 => Some((ScramHash::Sha1, false)),
            Mechanism::ScramSha1Plus => Some((ScramHash::Sha1, true)),
            Mechanism::ScramSha256 => Some((ScramHash::Sha256, false)),
            Mechanism::ScramSha256Plus => Some((ScramHash::Sha256, true)),
            _ => None,
        }
    }

    /// The output length in octets.
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    /// `H(data)`.
    fn hash(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            ScramHash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    /// `HMAC(key, data)` (RFC 2104).
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC takes any key length (RFC 2104 §3); `new_from_slice`
            // fails only for fixed-size keys.
            let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            ScramHash::Sha1 => run::<Hmac<sha1::Sha1>>(key, data),
            ScramHash::Sha256 => run::<Hmac<sha2::Sha256>>(key, data),
        }
    }

    /// `Hi(password, salt, i)`: PBKDF2 with HMAC-H (RFC 5802 §2.2).
    fn salted_password(self, password: &[u8], salt: &[u8], i: u32) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![0u8; self.output_len()]);
        match self {
            ScramHash::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, i, &mut out),
            ScramHash::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, i, &mut out),
        }
        out
    }
}

/// Prepares a password with SASLprep (RFC 4013, through the `stringprep`
/// crate), as RFC 5802 §2.2 `Normalize` asks; fails on prohibited
/// characters.
pub fn saslprep(password: &str) -> Result<Zeroizing<String>, SaslError> {
    stringprep::saslprep(password)
        .map(|p| Zeroizing::new(p.into_owned()))
        .map_err(|_| SaslError::Unusable("SASLprep prohibits the password"))
}

/// What a server keeps for one user and mechanism (RFC 5802 §3): the salt,
/// the iteration count, `StoredKey` and `ServerKey` — never the password.
/// `Debug` hides the keys.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    hash: ScramHash,
    salt: Vec<u8>,
    iterations: u32,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl ScramCredentials {
    /// Computes the stored credentials from a password (SASLprep'd), a
    /// salt (random, per user: 16 octets or more; some clients refuse
    /// fewer than 12) and an iteration count, as a server does when the
    /// password is set. Fails on a prohibited password, an empty
    /// salt, or fewer than [`MIN_ITERATIONS`].
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, SaslError> {
        check_params(salt, iterations)?;
        let keys = Keys::derive(hash, password, salt, iterations)?;
        Ok(ScramCredentials {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: hash.hash(&keys.client_key),
            server_key: keys.server_key.to_vec(),
        })
    }

    /// Stored credentials as kept: `StoredKey` and `ServerKey` must be
    /// one hash output long.
    pub fn new(
        hash: ScramHash,
        salt: Vec<u8>,
        iterations: u32,
        stored_key: Vec<u8>,
        server_key: Vec<u8>,
    ) -> Result<Self, SaslError> {
        check_params(&salt, iterations)?;
        if stored_key.len() != hash.output_len() || server_key.len() != hash.output_len() {
            return Err(SaslError::Unusable("key length differs from the hash's"));
        }
        Ok(ScramCredentials {
            hash,
            salt,
            iterations,
            stored_key,
            server_key,
        })
    }

    /// The hash function.
    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// `StoredKey = H(ClientKey)`.
    pub fn stored_key(&self) -> &[u8] {
        &self.stored_key
    }

    /// `ServerKey = HMAC(SaltedPassword, "Server Key")`.
    pub fn server_key(&self) -> &[u8] {
        &self.server_key
    }
}

impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

fn check_params(salt: &[u8], iterations: u32) -> Result<(), SaslError> {
    if salt.is_empty() {
        return Err(SaslError::Unusable("empty salt"));
    }
    if iterations < MIN_ITERATIONS {
        return Err(SaslError::Unusable("fewer than 4096 iterations"));
    }
    Ok(())
}

/// The client's keys (RFC 5802 §3), zeroed when dropped.
struct Keys {
    client_key: Zeroizing<Vec<u8>>,
    server_key: Zeroizing<Vec<u8>>,
}

impl Keys {
    fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, SaslError> {
        let password = saslprep(password)?;
        let salted = hash.salted_password(password.as_bytes(), salt, iterations);
        Ok(Keys {
            client_key: Zeroizing::new(hash.hmac(&salted, b"Client Key")),
            server_key: Zeroizing::new(hash.hmac(&salted, b"Server Key")),
        })
    }
}

/// `AuthMessage = client-first-message-bare "," server-first-message ","
/// client-final-message-without-proof` (RFC 5802 §3).
fn auth_message(client_first_bare: &str, server_first: &str, client_final: &str) -> Vec<u8> {
    [client_first_bare, server_first, client_final]
        .join(",")
        .into_bytes()
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[cfg(test)]
mod tests;
