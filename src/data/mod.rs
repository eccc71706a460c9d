//! Message content framing: DATA dot-stuffing and BDAT chunks, both directions.
