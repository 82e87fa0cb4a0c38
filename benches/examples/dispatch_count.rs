//! Instructions per sort call through the radix plugin, for callgrind,
//! whose counts repeat where timings on a shared machine do not:
//!
//! ```text
//! cargo build --release --workspace
//! cargo build --release -p wildhost-benches --example dispatch_count
//! for n in 0 100000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/dispatch_count $n target/release
//! done
//! ```
//!
//! The difference of the two totals over 100000 is the cost of one call of
//! one key: the host's dispatch and the plugin's own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use wildhost::{Registry, SearchPath};

fn main() {
    let mut args = std::env::args().skip(1);
    let calls: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .expect("the number of calls");
    let dir = PathBuf::from(args.next().expect("the directory of the plugins"));
    let registry = Registry::discover(&SearchPath::only([dir]));
    let radix = registry.backend("radix").expect("the radix plugin").clone();
    let mut keys = vec![7u64];
    // The thread's first call maps its message buffer: not counted.
    radix.sort(&mut keys).expect("sorted");
    for _ in 0..calls {
        radix.sort(black_box(&mut keys)).expect("sorted");
    }
    black_box(&keys);
}
