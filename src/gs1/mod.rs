//! gs1 (to be written).
