//! Test support shared by the crate's unit tests, the integration tests,
//! the fuzz targets and the benches: the in-memory client↔server
//! [`pair`](crate::testing::pair), the
//! [`round_trip`](crate::testing::round_trip) and prefix checks, and
//! implementations kept for comparison
//! ([`dot_reference`](crate::testing::dot_reference)).
//!
//! Built with the `testing` feature (and for the crate's own unit tests);
//! nothing here is part of the stable API.

pub mod dot_reference;
pub mod pair;
pub mod round_trip;
