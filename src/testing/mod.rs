//! Test support: implementations kept for comparison, not for use.
//!
//! Built with the `testing` feature (and for the crate's own unit tests);
//! nothing here is part of the stable API. Differential tests, benches and
//! fuzz targets compare the production code against these.

pub mod dot_reference;
