//! scanner (to be written).
