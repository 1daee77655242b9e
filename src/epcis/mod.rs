//! epcis (to be written).
