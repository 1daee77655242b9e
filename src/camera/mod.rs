//! camera (to be written).
