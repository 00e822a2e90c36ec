//! Seeds examples.
