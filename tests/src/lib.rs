//! End-to-end tests of the whole stack live in `tests/`.
