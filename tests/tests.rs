//! The integration test binary: one module per area.
mod hostile;
mod parse;
