//! Running a backend away from the host, and checking what it gave back.
//!
//! - [`isolate`]: a sort in a forked child on keys in shared memory, with a
//!   time limit, optionally against guard pages (`wildhost verify`).
//! - [`worker`]: `wildhost sort --isolate`: the worker process that parses,
//!   sorts and hands the keys back, host side and child side.
//! - [`integrity`]: checking a result without keeping a copy of the input.

pub mod integrity;
pub mod isolate;
pub mod worker;
