//! The worker's side, from the fork to its `_exit`: it runs where the host
//! ran, makes or takes the keys, sorts them, reports, and sends the keys
//! through its pipe if the host asks.

use super::Source;
use crate::mem::bytes_of;
use crate::process::{read_some, write_all};
use crate::registry::Backend;
use crate::running::isolate::failure_of;
use crate::wire::{HostRequest, WorkerReport};
use std::os::fd::OwnedFd;
use wildhost_abi::sdk::Key;

/// Moves the worker onto `cpu`, the one the host was running on, whose
/// caches hold the keys the host just read (the scheduler would start it on
/// the idle one, and the sort would be slower: figures in
/// docs/PERFORMANCE.md), then lets it run on every CPU it could before: it
/// stays put unless the scheduler has a reason to move it, and a backend's
/// own threads may use them all. The host only waits meanwhile.
pub(super) fn start_on(cpu: libc::c_int) {
    let Ok(cpu) = usize::try_from(cpu) else {
        return;
    };
    // SAFETY: an all-zero cpu_set_t is an empty set.
    let (mut allowed, mut here): (libc::cpu_set_t, libc::cpu_set_t) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    let size = size_of::<libc::cpu_set_t>();
    // SAFETY: both sets are valid for `size` bytes; CPU_SET checks `cpu`
    // against the set's size.
    unsafe {
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 || !libc::CPU_ISSET(cpu, &allowed) {
            return;
        }
        libc::CPU_SET(cpu, &mut here);
        if libc::sched_setaffinity(0, size, &here) == 0 {
            libc::sched_setaffinity(0, size, &allowed);
        }
    }
}

/// The worker: waits for the host to let go of the keys, or makes them
/// (and sends their fingerprint), sorts them in place, reports, sends the
/// keys if asked, and waits for the host to be done. Never returns.
pub(super) fn worker_main<T: Key>(
    backend: &Backend,
    source: Source<'_, T>,
    report: OwnedFd,
    control: OwnedFd,
) -> ! {
    // A panic must not unwind into the copy of the host's stack.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Free heap memory inherited from the host is shared copy-on-write:
        // the first write to each of its pages copies the page. Handing it
        // back to the kernel first makes the backend's scratch fresh zero
        // pages instead.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free memory of this process.
        unsafe {
            libc::malloc_trim(0);
        }
        let mut request = [0u8; 1];
        let mut next_request = || {
            let n = read_some(&control, &mut request);
            HostRequest::decode(&request[..n])
        };
        let send = |message: WorkerReport| write_all(&report, &message.encode());
        let mut loaded;
        let sorted: Result<&mut [T], _> = match source {
            Source::Keys(keys) => {
                if next_request() != Ok(HostRequest::Go) {
                    return;
                }
                backend.sort(keys).map(|()| &mut keys[..])
            }
            Source::Run { run, .. } => {
                if next_request() != Ok(HostRequest::Go) {
                    return;
                }
                match run() {
                    Ok(made) => {
                        loaded = made;
                        Ok(&mut loaded[..])
                    }
                    Err(error) => Err(error),
                }
            }
            Source::Prepare(prepare) => match prepare() {
                Ok(made) => {
                    send(WorkerReport::Prepared {
                        len: made.keys.len() as u64,
                        fingerprint: made.fingerprint.to_le_bytes(),
                    });
                    loaded = made.keys;
                    backend.sort(&mut loaded).map(|()| &mut loaded[..])
                }
                Err(message) => {
                    send(WorkerReport::PrepareFailed(message));
                    return;
                }
            },
        };
        match sorted {
            Ok(keys) => {
                send(WorkerReport::Sorted {
                    address: keys.as_ptr() as u64,
                    len: keys.len() as u64,
                });
                if next_request() == Ok(HostRequest::SendThroughPipe) {
                    write_all(&report, bytes_of(keys));
                    // Until the host has read it all and hangs up.
                    let _ = next_request();
                }
            }
            Err(error) => send(WorkerReport::Failed(failure_of(error))),
        }
    }));
    // SAFETY: leaves the worker at once, without running the host's atexit
    // handlers or destructors a second time.
    unsafe { libc::_exit(if run.is_ok() { 0 } else { 101 }) }
}
