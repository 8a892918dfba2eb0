//! Skeleton: see the workspace README.
