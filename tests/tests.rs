//! wildhost's end-to-end suite, one test binary: the workspace is built once
//! per run and every module drives the real `wildhost` binary (or the host
//! library) against real built plugins, through `wildhost_suite`
//! (`tests/support/lib.rs`).
//!
//! A new test goes into the module below that covers its behaviour; a new
//! kind of behaviour gets a module of its own and a line here.
//!
//! A test never passes without having run. One that needs root (to give a
//! file to another user) goes in a `needs_root` module inside its topic's
//! module, is `#[ignore = "needs root: …"]` and starts with
//! `wildhost_suite::require_root`: `cargo test --workspace` lists it as
//! ignored, and `.ci/run`, which runs as root, runs it with
//! `cargo test --workspace --test tests -- --ignored needs_root::`.

// `wildhost sort`: every key type through every backend, byte for byte
// against a reference sort; input and output files, bad lines, exit codes.
mod sort;

// `wildhost sort` past --memory: sorted in parts through nameless
// temporary files, the same bytes as in memory, nothing left behind.
mod external;

// `wildhost sort`'s record mode: lines kept verbatim, ordered stably by the
// whole line or one field, byte for byte against GNU sort; bad keys.
mod records;

// `wildhost list` and `wildhost inspect`: their whole text and JSON output,
// byte for byte, and the facts they report.
mod list_inspect;

// The help of every subcommand and the error reports (`error:`, `cause:`,
// `help:`), byte for byte, with their exit codes.
mod help_and_errors;

// The shipped backends built into the binary: a copy of `wildhost` alone
// lists them as built-in and sorts with each; `inspect` by name.
mod built_in;

// Where plugins are found: `--plugin-dir`, `WILDHOST_PLUGIN_PATH`, the data
// directory, the executable's directory; which file of a module wins.
mod discovery;

// Plugin files and directories others can write or own, and links to them.
mod permissions;

// Hostile plugin files (built from `fixtures/hostile.c`, from bytes, and
// from `fixtures/rust/`): each refused at its stage with its reason.
mod hostile;

// Plugins that crash, abort, exit or hang while loading or sorting: the
// scanner child, its cache, `sort --isolate`, and the reports that name a
// backend ending wildhost's own process.
mod isolation;

// `wildhost verify`: shipped plugins pass, plugins that sort wrongly or
// misbehave fail with the input's size and seed.
mod verify;

// `wildhost bench`: its rows, formats and failure reports (not timings).
mod bench;

// `wildhost new`: the projects it writes build, load and sort.
mod new;

// `wildhost install`, `uninstall` and `pack`: the user plugin directory,
// the install manifest and its digests, projects built from source,
// archives, and what is refused with nothing installed.
mod install;

// wildhost as a library: discover, pick a backend, sort, from many threads.
mod library;

// The ABI 1.0 plugin of `fixtures/abi-1.0`, kept for ever: it loads, sorts,
// verifies, and sorts pairs through the library's packing fallback.
mod abi_1_0;

// The ABI 1.1 plugin of `fixtures/abi-1.1`, kept for ever: it loads, sorts
// keys and pairs, and is called through `sort`/`sort_pairs` when the host
// has a thread count, having no `sort_with`.
mod abi_1_1;

// The ABI 1.2 plugin of `fixtures/abi-1.2`, kept for ever: it loads, sorts
// through `sort_with`, and gets a sorted copy by a copy, never a source.
mod abi_1_2;

// ABI 1.2's `sort_with`: the thread count reaches the backend, keys and
// pairs sort through it, and a wrong result is caught as `sort`'s is.
mod threads;

// The Python package: `pip install ./python` into a venv under target/,
// then its pytest suite (lists against sorted(), arrays against np.sort,
// plugins, errors, threads).
mod python;

// The fuzz targets over their kept corpus and a short seeded mutation run.
mod fuzz_smoke;
