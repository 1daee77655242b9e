//! verify (to be written).
