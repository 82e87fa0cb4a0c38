//! `wildhost sort --isolate`: the backend sorts in a forked worker process,
//! and the host pulls the result back.
//!
//! The keys reach the worker in one of two ways, neither a copy:
//! - The worker makes them ([`sort_prepared`], what the
//!   command does): forked once the input is read, it parses it (its copy
//!   of the host's memory, shared copy-on-write and only read) and sends
//!   the keys' fingerprint back before any code of the backend runs there.
//!   The host lets go of the input at once and never holds the keys.
//! - The caller has them ([`sort`]): the worker is forked
//!   once they are in memory, so it starts with them at no cost, and the
//!   host lets go of its own view of their pages before the worker touches
//!   them: the worker is left their only owner and sorts them in place,
//!   its writes copying nothing.
//!
//! When the worker reports where its sorted keys are, the host copies them
//! with `process_vm_readv`, a cache-sized block at a time, into its own
//! buffer (the output itself, for the binary format) and checks each block
//! while it is in the cache; then it stops the worker. Where the kernel
//! does not allow reading another process's memory (or the environment
//! sets `WILDHOST_ISOLATE_VIA_PIPE`, which the tests use), the worker sends
//! the keys through the pipe instead.
//!
//! The host only ever writes to its own buffer, within its bounds, and only
//! reads the worker: a worker that lies about where its keys are gives
//! wrong keys, which the caller's result check catches, never a write
//! anywhere else.
//!
//! How the pieces fit: this file holds the public calls and the types they
//! share; `host.rs` is the host's side (it forks the worker, hands it the
//! keys or waits for it to make them, pulls the result out and stops it);
//! `child.rs` is the worker's side, from the fork to its `_exit`. What
//! crosses the pipes is [`crate::wire`]'s `WorkerReport` and `HostRequest`;
//! the page tricks on the keys' buffers are in [`crate::mem`].

mod child;
mod host;

use super::integrity::Fingerprint;
use super::isolate::{ChildFailure, IsolatedSortError};
use crate::registry::Backend;
use host::in_worker;
use std::time::Duration;
use wildhost_abi::sdk::Key;

/// Sorts `keys` in a forked worker process with a time limit, as
/// `wildhost sort --isolate` does: a backend that crashes, exits or hangs
/// gives an error naming what happened. The keys' memory goes to the
/// worker, so on an error `keys` is left empty; on success it holds the
/// worker's result (the caller still checks it, as for any backend).
pub fn sort<T: Key>(
    backend: &Backend,
    keys: &mut Vec<T>,
    timeout: Duration,
) -> Result<(), IsolatedSortError> {
    sort_keys(backend, keys, timeout, Receive::Whole)
}

/// [`sort`], handing the sorted keys to `take` in
/// order, a cache-sized block at a time, as they are copied out of the
/// worker: no buffer of the whole result is made. `keys` is left empty.
/// On an error, `take` may have been given part of the keys.
pub fn sort_with<T: Key>(
    backend: &Backend,
    keys: &mut Vec<T>,
    timeout: Duration,
    mut take: impl FnMut(&[T]),
) -> Result<(), IsolatedSortError> {
    sort_keys(backend, keys, timeout, Receive::To(Sink::Blocks(&mut take)))
}

/// Sorts, in a forked worker process with a time limit, keys that the
/// worker makes itself, as `wildhost sort --isolate` does: `prepare` runs
/// in the worker (which starts as a copy of this process) before any code
/// of the backend does there, and returns the keys and their fingerprint;
/// the worker sends the fingerprint back, then sorts. The host never holds
/// the keys, so nothing of them is handed over or copied into the worker.
/// Preparing gets the time limit, and sorting gets it again from the
/// fingerprint's arrival. The sorted keys go to `sink` as they are copied
/// out (on an error, `Sink::Bytes` may have been given part of them); the
/// fingerprint is returned, for checking them.
///
/// # Safety
///
/// `prepare` runs in a forked copy of this process in which only the
/// calling thread exists. It must not wait for a lock that another thread
/// of this process might have held at the moment of the fork (a `Mutex`,
/// stdout's lock, a `OnceLock` being initialised): in the child, no one
/// would ever release it. The allocator's own lock is safe (glibc's `fork`
/// takes care of it). The caller must know every thread of the process, or
/// that `prepare` takes no lock.
pub unsafe fn sort_prepared<'a, T: Key>(
    backend: &Backend,
    timeout: Duration,
    prepare: impl FnOnce() -> Result<Prepared<T>, String> + 'a,
    sink: Sink<'_, T>,
) -> Result<Fingerprint, PreparedSortError> {
    let fingerprint = in_worker(
        backend,
        Source::Prepare(Box::new(prepare)),
        timeout,
        Receive::To(sink),
    )?;
    // A loading worker always sends its fingerprint before the keys.
    fingerprint.ok_or_else(|| {
        PreparedSortError::Sort(child_failed(
            backend,
            ChildFailure::Died("sent its keys without their fingerprint".into()),
        ))
    })
}

/// Runs `run` in a forked worker process with a time limit, as
/// [`sort`] runs a backend there, and returns the `len` values it made,
/// copied out of the worker. The worker starts as a copy of this process:
/// `run` may use anything the caller holds, and what it changes, it
/// changes in the worker's copy only. A wrong number of values, a crash,
/// an exit or a hang is an error naming `backend`, which `run` is expected
/// to call.
///
/// # Safety
///
/// As for [`sort_prepared`]: `run` runs in a forked copy of this process
/// in which only the calling thread exists, and must not wait for a lock
/// another thread may have held at the fork.
pub unsafe fn run<'a, T: Key>(
    backend: &Backend,
    timeout: Duration,
    len: usize,
    run: impl FnOnce() -> Result<Vec<T>, crate::error::SortError> + 'a,
) -> Result<Vec<T>, IsolatedSortError> {
    let mut made = Vec::new();
    let source = Source::Run {
        run: Box::new(run),
        len,
        into: &mut made,
    };
    match in_worker(backend, source, timeout, Receive::Whole) {
        Ok(_) => Ok(made),
        Err(PreparedSortError::Sort(e)) => Err(e),
        Err(PreparedSortError::Prepare(what)) => {
            Err(child_failed(backend, ChildFailure::Died(what)))
        }
        Err(PreparedSortError::PrepareStopped(failure)) => Err(child_failed(backend, failure)),
    }
}

fn sort_keys<T: Key>(
    backend: &Backend,
    keys: &mut Vec<T>,
    timeout: Duration,
    receive: Receive<'_, T>,
) -> Result<(), IsolatedSortError> {
    match in_worker(backend, Source::Keys(keys), timeout, receive) {
        Ok(_) => Ok(()),
        Err(PreparedSortError::Sort(e)) => Err(e),
        // Only a loading worker reports on loading.
        Err(PreparedSortError::Prepare(what)) => {
            Err(child_failed(backend, ChildFailure::Died(what)))
        }
        Err(PreparedSortError::PrepareStopped(failure)) => Err(child_failed(backend, failure)),
    }
}

fn child_failed(backend: &Backend, failure: ChildFailure) -> IsolatedSortError {
    IsolatedSortError::Child {
        backend: backend.name().to_string(),
        failure,
    }
}

/// Where the sorted keys go: back into the caller's vector, or to a sink.
enum Receive<'a, T> {
    Whole,
    To(Sink<'a, T>),
}

/// Where an isolated sort's keys go, in order, as they are copied out of
/// the worker.
pub enum Sink<'a, T> {
    /// To the function, a cache-sized block at a time.
    Blocks(&'a mut dyn FnMut(&[T])),
    /// Appended to the buffer in this machine's byte order (on a
    /// little-endian machine: the binary format), copied from the worker
    /// straight into it; each block, right after it was appended (while it
    /// is in the cache), also goes to the function, which may check it.
    Bytes(&'a mut Vec<u8>, &'a mut dyn FnMut(&[T])),
}

impl<T> std::fmt::Debug for Sink<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sink::Blocks(_) => "Sink::Blocks",
            Sink::Bytes(..) => "Sink::Bytes",
        })
    }
}

/// Keys a worker made itself, and their fingerprint, taken as it made them.
#[derive(Debug)]
pub struct Prepared<T> {
    /// The keys to sort.
    pub keys: Vec<T>,
    /// Their fingerprint, for checking the result.
    pub fingerprint: Fingerprint,
}

/// Why a sort of keys the worker makes itself did not give a result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PreparedSortError {
    /// Making the keys failed (before the backend ran): what the loader
    /// said.
    #[error("{0}")]
    Prepare(String),
    /// The worker died or ran out of time while making the keys, before
    /// the backend ran.
    #[error("the worker process making the keys: {0}")]
    PrepareStopped(ChildFailure),
    /// The sort failed.
    #[error(transparent)]
    Sort(#[from] IsolatedSortError),
}

/// What the worker sorts.
enum Source<'a, T> {
    /// The caller's keys, whose pages go over to the worker.
    Keys(&'a mut Vec<T>),
    /// Keys the worker makes itself, with their fingerprint.
    Prepare(Box<dyn FnOnce() -> Result<Prepared<T>, String> + 'a>),
    /// Values `run` makes in the worker, `len` of them, received `into`
    /// the caller's vector.
    Run {
        run: Box<dyn FnOnce() -> Result<Vec<T>, crate::error::SortError> + 'a>,
        len: usize,
        into: &'a mut Vec<T>,
    },
}
