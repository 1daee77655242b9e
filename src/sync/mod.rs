//! sync (to be written).
