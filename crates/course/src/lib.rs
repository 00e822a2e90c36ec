//! The course project (being written).
