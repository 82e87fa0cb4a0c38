//! Work shared among threads, done all the same when a thread cannot be
//! started: a process at its limit of threads (`RLIMIT_NPROC`, a cgroup's
//! `pids.max`, the kernel's) gets the work done on the calling thread, and
//! slower, never a panic.

use std::sync::Mutex;
use std::thread::ScopedJoinHandle;

/// Runs `work` on each input, one thread each (the first on the calling
/// thread), and returns the results in input order. An input whose thread
/// could not be started is worked on by the calling thread. A panic in any
/// of them reaches the caller once all have stopped.
pub fn each<A: Send, R: Send>(inputs: Vec<A>, work: impl Fn(A) -> R + Sync) -> Vec<R> {
    each_with(inputs, work, || true)
}

/// [`each`], a thread started only when `may_start()` says so (the tests
/// refuse some, as the kernel can).
fn each_with<A: Send, R: Send>(
    inputs: Vec<A>,
    work: impl Fn(A) -> R + Sync,
    may_start: impl Fn() -> bool,
) -> Vec<R> {
    // Each input waits in a slot for whichever thread takes it first: its
    // own, or, if that never started, the calling thread.
    let slots: Vec<Mutex<Option<A>>> = inputs.into_iter().map(|a| Mutex::new(Some(a))).collect();
    let take = |slot: &Mutex<Option<A>>| match slot.lock() {
        Ok(mut guard) => guard.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    let (work, take) = (&work, &take);
    std::thread::scope(|scope| {
        let handles: Vec<Option<ScopedJoinHandle<'_, Option<R>>>> = slots
            .iter()
            .skip(1)
            .map(|slot| {
                may_start()
                    .then(|| {
                        std::thread::Builder::new()
                            .spawn_scoped(scope, move || take(slot).map(work))
                            .ok()
                    })
                    .flatten()
            })
            .collect();
        let mut out = Vec::with_capacity(slots.len());
        out.extend(slots.first().and_then(take).map(work));
        // The inputs no thread took, before waiting for the threads.
        let mut orphans: Vec<Option<R>> = slots
            .iter()
            .skip(1)
            .zip(&handles)
            .map(|(slot, handle)| match handle {
                Some(_) => None,
                None => take(slot).map(work),
            })
            .collect();
        for (handle, orphan) in handles.into_iter().zip(&mut orphans) {
            let result = match handle {
                Some(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => orphan.take(),
            };
            out.extend(result);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_with_or_without_threads() {
        let inputs: Vec<u64> = (0..9).collect();
        let expected: Vec<u64> = inputs.iter().map(|x| x * x).collect();
        assert_eq!(each(inputs.clone(), |x| x * x), expected);
        // No thread starts: all on this one.
        let refused = each_with(inputs.clone(), |x| x * x, || false);
        assert_eq!(refused, expected);
        // Every other thread starts.
        let started = std::sync::atomic::AtomicUsize::new(0);
        let some = each_with(
            inputs,
            |x| x * x,
            || {
                started
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .is_multiple_of(2)
            },
        );
        assert_eq!(some, expected);
        assert!(each(Vec::<u8>::new(), |x| x).is_empty());
    }
}
