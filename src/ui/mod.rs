//! ui (to be written).
