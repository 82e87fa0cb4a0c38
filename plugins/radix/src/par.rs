//! The radix sorts on several threads: the same result as [`crate::sort`]
//! and [`crate::pairs`], bit for bit, from one parallel MSD level on top of
//! the serial machinery.
//!
//! ```
//! use wildsort_radix::par::sort_parallel;
//!
//! let mut v: Vec<u64> = (0..1_000_000u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
//! sort_parallel(&mut v, 2);
//! assert!(v.is_sorted());
//! ```
//!
//! For `n` keys and `t` threads (at most one per `CHUNK_MIN` keys, at most
//! `MAX_THREADS`):
//!
//! 1. `t <= 1` or `n < PARALLEL_MIN`: the serial sort, unchanged.
//! 2. The serial sort's early exits (presorted, few distinct values) and
//!    its sample.
//! 3. The first digit, chosen by the serial sort's own code
//!    (`sort::choose_first`: wide, offset or logarithmic digits, floats
//!    mapped to ordered keys by the scatter), whose passes (the histogram,
//!    the smallest and largest key) each thread makes over its contiguous
//!    `1 / t` of the input.
//! 4. A prefix sum over (bucket, thread) gives each thread where its keys
//!    of each bucket go; each thread scatters its chunk into the one
//!    scratch buffer. Within a bucket the keys keep the order of the
//!    chunks, which is the input order: the pairs sort stays stable.
//! 5. The buckets are divided among the threads in contiguous groups of
//!    about `n / t` keys, and each thread sorts its groups' buckets into
//!    their place in the input with the serial sort's per-bucket code.
//!
//! Memory: the serial sort's scratch buffer(s), plus per thread one
//! histogram of the first digit and the serial sort's small buffers.
//! A panic in a thread (none is expected on any input) reaches the caller
//! once every thread has stopped.

use std::any::Any;
use std::mem::MaybeUninit;
use std::ops::Range;

use crate::pairs::{self, PairKey, Payload};
use crate::sort::{
    self, Count, Digit, FloatBits, Input, Io, Ordered, RadixKey, Scratch, SignedLog,
};

/// Below this many keys the parallel sorts are the serial ones: the
/// threads do not pay (figures in docs/PERFORMANCE.md, "Parallel radix
/// sort").
pub const PARALLEL_MIN: usize = 1 << 18;

/// Fewest keys per thread: a chunk smaller than about this costs more to
/// hand to a thread than it saves.
pub const CHUNK_MIN: usize = 1 << 16;

/// Most threads a sort starts, whatever it is asked for: past the memory
/// bandwidth more threads only cost their stacks and histograms.
pub const MAX_THREADS: usize = 256;

mod sealed {
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
    impl Sealed for i32 {}
    impl Sealed for i64 {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The key types [`sort_parallel`] sorts: those of [`crate::sort`].
pub trait ParallelKey: RadixKey + Send + Sync + sealed::Sealed {
    /// The radix passes of [`sort_parallel`] after the early exits.
    #[doc(hidden)]
    fn parallel_passes(v: &mut [Self], sample: &[Self::K], threads: usize);
    /// The radix passes of [`crate::from::sort_from`] after the early
    /// exits, for more than `CACHE_KEYS` keys: the serial sort's if
    /// `threads <= 1`, else [`sort_parallel`]'s.
    #[doc(hidden)]
    fn passes_from(src: &[Self], dst: &mut [Self], sample: &[Self::K], threads: usize);
    /// [`passes_from`](Self::passes_from) by the radix passes alone, where
    /// the CPU would have the vector sort take over.
    #[doc(hidden)]
    fn radix_passes_from(src: &[Self], dst: &mut [Self], sample: &[Self::K], threads: usize);
    /// Sorts `v` in vector registers on up to `threads` threads and
    /// returns true, or returns false, untouched, where the CPU cannot.
    #[doc(hidden)]
    fn vector_sort_on(v: &mut [Self], threads: usize) -> bool;
}

macro_rules! parallel_key {
    ($passes:ident, $serial:path: $($t:ty),*) => {$(
        impl ParallelKey for $t {
            fn parallel_passes(v: &mut [Self], sample: &[Self::K], threads: usize) {
                $passes(Io::InPlace(v), sample, threads);
            }
            fn passes_from(src: &[Self], dst: &mut [Self], sample: &[Self::K], threads: usize) {
                if !vector_sort_from(src, dst, threads)
                    && !<Self as Avx2Parts>::sort_from(src, dst, threads)
                {
                    Self::radix_passes_from(src, dst, sample, threads);
                }
            }
            fn radix_passes_from(src: &[Self], dst: &mut [Self], sample: &[Self::K], threads: usize) {
                let io = Io::Apart { src, dst };
                if threads <= 1 {
                    $serial(io, sample);
                } else {
                    $passes(io, sample, threads);
                }
            }
            fn vector_sort_on(v: &mut [Self], threads: usize) -> bool {
                vector_sort_on(v, threads) || <Self as Avx2Parts>::sort_on(v, threads)
            }
        }
    )*};
}

/// [`ParallelKey::vector_sort_on`]: the input cut into one part per thread
/// by partition passes ([`crate::vector::split`]), and each part sorted in
/// registers.
#[cfg(target_arch = "x86_64")]
fn vector_sort_on<K: crate::vector::Lane + Send>(v: &mut [K], threads: usize) -> bool {
    use crate::vector;
    let Some(t) = vector::Avx512::detect() else {
        return false;
    };
    sort_parts(t, vector::split(t, v, threads), threads);
    true
}

/// Sorts `src` into `dst` in vector registers on up to `threads` threads
/// and returns true, or returns false, `dst` untouched, where the CPU
/// cannot: the first partition pass writes `dst` from `src`
/// ([`crate::vector::split_from`]), so there is no copy before the sort.
#[cfg(target_arch = "x86_64")]
fn vector_sort_from<K: crate::vector::Lane + Send + Sync>(
    src: &[K],
    dst: &mut [K],
    threads: usize,
) -> bool {
    use crate::vector;
    let Some(t) = vector::Avx512::detect() else {
        return false;
    };
    sort_parts(t, vector::split_from(t, src, dst, threads), threads);
    true
}

/// Sorts each of `parts` in registers: on a thread each, unless
/// `threads <= 1`.
#[cfg(target_arch = "x86_64")]
fn sort_parts<K: crate::vector::Lane + Send>(
    t: crate::vector::Avx512,
    parts: Vec<&mut [K]>,
    threads: usize,
) {
    if threads <= 1 {
        parts
            .into_iter()
            .for_each(|part| crate::vector::sort(t, part));
    } else {
        each(parts, |part| crate::vector::sort(t, part));
    }
}

/// The AVX2 sort's share of [`ParallelKey`], where the CPU has AVX2 but
/// not AVX-512F: 32-bit keys only, and only on x86-64.
trait Avx2Parts: Sized {
    /// [`ParallelKey::vector_sort_on`] in AVX2 registers: the input cut
    /// into one part per thread by partition passes
    /// ([`crate::avx2::split`]), each part sorted with
    /// [`crate::avx2::sort`].
    fn sort_on(_: &mut [Self], _: usize) -> bool {
        false
    }
    /// [`vector_sort_from`] in AVX2 registers: a copy, sorted in place.
    fn sort_from(_: &[Self], _: &mut [Self], _: usize) -> bool {
        false
    }
}

impl Avx2Parts for u64 {}
impl Avx2Parts for i64 {}
impl Avx2Parts for f64 {}

macro_rules! avx2_parts {
    ($($t:ty),*) => {$(
        #[cfg(target_arch = "x86_64")]
        impl Avx2Parts for $t {
            fn sort_on(v: &mut [Self], threads: usize) -> bool {
                use crate::avx2;
                let Some(t) = avx2::Avx2::detect() else {
                    return false;
                };
                if threads <= 1 {
                    avx2::sort(t, v);
                } else {
                    each(avx2::split(t, v, threads), |part| avx2::sort(t, part));
                }
                true
            }
            fn sort_from(src: &[Self], dst: &mut [Self], threads: usize) -> bool {
                if crate::avx2::Avx2::detect().is_none() {
                    return false;
                }
                dst.copy_from_slice(src);
                Self::sort_on(dst, threads)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        impl Avx2Parts for $t {}
    )*};
}
avx2_parts!(u32, i32, f32);

/// [`vector_sort_from`] where there is no vector sort.
#[cfg(not(target_arch = "x86_64"))]
fn vector_sort_from<K>(_: &[K], _: &mut [K], _: usize) -> bool {
    false
}

/// [`ParallelKey::vector_sort_on`] where there is no vector sort.
#[cfg(not(target_arch = "x86_64"))]
fn vector_sort_on<K>(_: &mut [K], _: usize) -> bool {
    false
}
parallel_key!(int_passes, sort::large_passes: u32, u64, i32, i64);
parallel_key!(float_passes, sort::float_large_passes: f32, f64);

/// Sorts `v` as [`sort::radix_sort`] does, on up to `threads` threads
/// (the calling one among them).
pub fn sort_parallel<T: ParallelKey>(v: &mut [T], threads: usize) {
    let threads = threads.min(v.len() / CHUNK_MIN).min(MAX_THREADS);
    if threads <= 1 || v.len() < PARALLEL_MIN {
        sort::radix_sort(v);
        return;
    }
    sort_parallel_without_cutover(v, threads);
}

/// [`sort_parallel`] on `threads` threads (at most one per key, at most
/// `MAX_THREADS`) whenever
/// the input is too large for the cache, however few keys each thread
/// gets: what the parallel code alone does, for tests.
#[doc(hidden)]
pub fn sort_parallel_without_cutover<T: ParallelKey>(v: &mut [T], threads: usize) {
    let threads = threads.min(v.len()).min(MAX_THREADS);
    if threads <= 1 || v.len() <= sort::CACHE_KEYS {
        sort::radix_sort(v);
        return;
    }
    if let Some(sample) = sort::prepare(v)
        && !crate::dense::sorted(v, &sample, |o| sort_parallel(o, threads))
        && !T::vector_sort_on(v, threads)
    {
        T::parallel_passes(v, &sample, threads);
    }
}

/// [`sort_parallel_without_cutover`] by the radix passes alone, where the
/// CPU would have the vector sort take over: so that tests reach the
/// parallel passes on every CPU.
#[doc(hidden)]
pub fn radix_passes_parallel<T: ParallelKey>(v: &mut [T], threads: usize) {
    let threads = threads.min(v.len()).min(MAX_THREADS);
    if threads <= 1 || v.len() <= sort::CACHE_KEYS {
        sort::radix_sort_without_cutover(v);
        return;
    }
    if let Some(sample) = sort::prepare(v) {
        T::parallel_passes(v, &sample, threads);
    }
}

/// Sorts `u32` keys in natural order on up to `threads` threads.
pub fn sort_u32_parallel(v: &mut [u32], threads: usize) {
    sort_parallel(v, threads);
}
/// Sorts `u64` keys in natural order on up to `threads` threads.
pub fn sort_u64_parallel(v: &mut [u64], threads: usize) {
    sort_parallel(v, threads);
}
/// Sorts `i32` keys in natural order on up to `threads` threads.
pub fn sort_i32_parallel(v: &mut [i32], threads: usize) {
    sort_parallel(v, threads);
}
/// Sorts `i64` keys in natural order on up to `threads` threads.
pub fn sort_i64_parallel(v: &mut [i64], threads: usize) {
    sort_parallel(v, threads);
}
/// Sorts `f32` keys in IEEE-754 totalOrder on up to `threads` threads.
pub fn sort_f32_parallel(v: &mut [f32], threads: usize) {
    sort_parallel(v, threads);
}
/// Sorts `f64` keys in IEEE-754 totalOrder on up to `threads` threads.
pub fn sort_f64_parallel(v: &mut [f64], threads: usize) {
    sort_parallel(v, threads);
}

/// [`ParallelKey::parallel_passes`] of integer keys (and of floats' ordered
/// keys): the first level that [`sort::choose_first`] chooses, on
/// `threads` threads, from `io`'s input into its output.
fn int_passes<T: RadixKey + Send + Sync>(io: Io<'_, T>, sample: &[T::K], threads: usize) {
    if u32::try_from(io.len()).is_ok() {
        int_top::<T, u32>(io, sample, threads);
    } else {
        int_top::<T, usize>(io, sample, threads);
    }
}

/// [`int_passes`] with bucket counters of type `C`. The first level reads
/// the input where it is, and the threads sort its buckets into the
/// output, which they write before they read (see [`sort::top_children`]
/// and [`sort::log_children`]).
fn int_top<T: RadixKey + Send + Sync, C: Count>(
    mut io: Io<'_, T>,
    sample: &[T::K],
    threads: usize,
) {
    let mut input = Chunks::new(io.src(), threads).changing(io.may_change());
    let mut counts: Vec<C> = Vec::new();
    let first = sort::choose_first(&mut input, sample, false, &mut counts);
    let scratch = match first {
        sort::First::Sorted => {
            io.copied();
            return;
        }
        sort::First::Fill { prefix, shift } => {
            sort::fill(io.dst(), &counts, prefix, shift);
            return;
        }
        sort::First::Offset(f) => spread::<_, _, C, _>(input, f, |x| x),
        sort::First::Linear(f, _) => spread::<_, _, C, _>(input, f, |x| x),
        sort::First::Log(f, _) => spread::<_, _, C, _>(input, f, |x| x),
        // Not chosen for keys other than floats.
        sort::First::Crowded => {
            sort::radix_sort(io.copied());
            return;
        }
    };
    let Some(mut scratch) = scratch else {
        T::small_sort(io.copied());
        return;
    };
    let ends = ends_of(&counts);
    let parts = groups(&ends, threads);
    let freed = scratch.freed_after();
    let work = split(io.dst(), &parts)
        .into_iter()
        .zip(split(&mut scratch, &parts));
    each(work.zip(&parts).collect(), |((v, scratch), part)| {
        let ends = relative(&ends, part);
        let mut stack: Vec<C> = Vec::new();
        match first {
            sort::First::Log(f, tz) => {
                let bits_of = |d| f.child_bits(part.buckets.start + d);
                sort::log_children(scratch, v, false, &ends, bits_of, tz, &mut stack);
            }
            sort::First::Offset(sort::Offset { shift, .. }) => {
                sort::top_children(v, scratch, &ends, |_| shift, 0, &mut stack, |_| {});
            }
            sort::First::Linear(sort::Linear { shift, .. }, tz) => {
                sort::top_children(v, scratch, &ends, |_| shift, tz, &mut stack, |_| {});
            }
            sort::First::Sorted | sort::First::Fill { .. } | sort::First::Crowded => {}
        }
        if freed {
            sort::release(scratch);
        }
    });
}

/// [`ParallelKey::parallel_passes`] of floats: as [`sort`]'s, the first
/// level maps them to their ordered keys in its scatter, and each thread
/// rewrites its buckets as floats once sorted. Where [`sort::choose_first`]
/// leaves them to the general path, they are rewritten as keys in place
/// (each thread its chunk), sorted as integers and rewritten back: in
/// the output, once the input is copied there.
fn float_passes<T: FloatBits + Send + Sync>(mut io: Io<'_, T>, sample: &[T::K], threads: usize)
where
    T::K: Send + Sync,
{
    let done = if u32::try_from(io.len()).is_ok() {
        float_top::<T, u32>(&mut io, sample, threads)
    } else {
        float_top::<T, usize>(&mut io, sample, threads)
    };
    if done {
        return;
    }
    let v = io.copied();
    let parts = chunks(v.len(), threads);
    each(split_even(v, &parts), |chunk| {
        sort::keys_in_place(chunk);
    });
    let keys = sort::as_keys(v);
    int_passes(Io::InPlace(keys), sample, threads);
    each(split_even(keys, &parts), sort::values_in_place::<T>);
}

/// The first level of [`float_passes`], with bucket counters of type `C`.
/// Returns false, with the output not yet written, where
/// [`sort::choose_first`] leaves the floats to the general path or the
/// scratch buffer cannot be had.
fn float_top<T: FloatBits + Send + Sync, C: Count>(
    io: &mut Io<'_, T>,
    sample: &[T::K],
    threads: usize,
) -> bool
where
    T::K: Send + Sync,
{
    let mut input = Chunks::new(io.src(), threads).changing(io.may_change());
    let mut counts: Vec<C> = Vec::new();
    let (digit, tz) = match sort::choose_first(&mut input, sample, true, &mut counts) {
        sort::First::Sorted => {
            io.copied();
            return true;
        }
        sort::First::Fill { prefix, shift } => {
            sort::fill(io.dst(), &counts, prefix, shift);
            return true;
        }
        sort::First::Linear(f, tz) => (f, tz),
        sort::First::Offset(_) | sort::First::Log(..) | sort::First::Crowded => return false,
    };
    let Some(mut scratch) = spread::<_, _, C, _>(input, digit, |x: T| Ordered(x.key())) else {
        return false;
    };
    let ends = ends_of(&counts);
    let parts = groups(&ends, threads);
    let freed = scratch.freed_after();
    let work = split(sort::as_keys(io.dst()), &parts)
        .into_iter()
        .zip(split(&mut scratch, &parts));
    each(work.zip(&parts).collect(), |((v, scratch), part)| {
        let ends = relative(&ends, part);
        let mut stack: Vec<C> = Vec::new();
        let bits_of = |_| digit.shift;
        let done = sort::values_in_place::<T>;
        sort::top_children(v, scratch, &ends, bits_of, tz, &mut stack, done);
        if freed {
            sort::release(scratch);
        }
    });
    true
}

/// Sorts `keys` as [`pairs::sort_pairs`] does, moving each element of
/// `payload` with its key, stably, on up to `threads` threads (the calling
/// one among them): the same result, bit for bit.
///
/// # Panics
/// If `keys` and `payload` differ in length.
pub fn sort_pairs_parallel<K: PairKey, P: Payload + Send + Sync>(
    keys: &mut [K],
    payload: &mut [P],
    threads: usize,
) {
    assert_eq!(
        keys.len(),
        payload.len(),
        "keys and payload must have the same length"
    );
    let threads = threads.min(keys.len() / CHUNK_MIN).min(MAX_THREADS);
    if threads <= 1 || keys.len() < PARALLEL_MIN {
        pairs::sort_pairs(keys, payload);
        return;
    }
    sort_pairs_parallel_without_cutover(keys, payload, threads);
}

/// [`sort_pairs_parallel`] as [`sort_parallel_without_cutover`] is
/// [`sort_parallel`]: for tests.
#[doc(hidden)]
pub fn sort_pairs_parallel_without_cutover<K: PairKey, P: Payload + Send + Sync>(
    keys: &mut [K],
    payload: &mut [P],
    threads: usize,
) {
    assert_eq!(keys.len(), payload.len());
    let threads = threads.min(keys.len()).min(MAX_THREADS);
    if threads <= 1 || keys.len() <= sort::CACHE_KEYS {
        pairs::sort_pairs(keys, payload);
        return;
    }
    pairs::sort_large_by(keys, payload, |images, payload| {
        if u32::try_from(images.len()).is_ok() {
            pairs_top::<_, _, u32>(images, payload, threads)
        } else {
            pairs_top::<_, _, usize>(images, payload, threads)
        }
    });
}

/// The radix passes of [`sort_pairs_parallel`] over the keys' images, as
/// the serial pairs sort makes them: a linear first digit (or, for keys of
/// both signs crowding the middle, a logarithmic one on each side), its
/// histogram and scatter shared among the threads, then each thread the
/// buckets of its group. Returns false, having changed nothing, if the
/// scratch buffers cannot be had.
fn pairs_top<K: RadixKey + Send + Sync, P: Payload + Send + Sync, C: Count>(
    k: &mut [K],
    p: &mut [P],
    threads: usize,
) -> bool {
    let n = k.len();
    let full = 8 * size_of::<K::K>() as u32;
    let (Some(mut tk), Some(mut tp)) = (Scratch::<K>::new(n), Scratch::<P>::new(n)) else {
        return false;
    };
    let mut input = Chunks::new(k, threads);
    let mut counts: Vec<C> = Vec::new();
    let Some(plan) = sort::plan_first(&mut input, sort::WIDE_WIDTH, &mut counts) else {
        return true;
    };
    let shift = plan.bits - plan.w;
    if plan.bits == full && shift != plan.tz {
        // Keys of both signs crowding the two buckets around the middle: a
        // logarithmic digit on each side of the middle, as serial.
        let half = 1usize << (plan.w - 1);
        let around = counts[half - 1].get() + counts[half].get();
        let f = SignedLog::new(full, sort::MAX_WIDTH);
        let mut both: Vec<C> = vec![C::default(); f.buckets()];
        if around > n / 2 && {
            input.histogram(&mut both, f);
            pairs::both_sides_spread(both.iter().map(|c| c.get()), n)
        } {
            spread_pairs::<K, P, C, _>(input, f, p, &mut tk, &mut tp);
            let ends = ends_of(&both);
            pair_children(k, p, &mut tk, &mut tp, &ends, threads, |d| {
                (f.child_bits(d), 0)
            });
            return true;
        }
    }
    let digit = sort::Linear { shift, w: plan.w };
    spread_pairs::<K, P, C, _>(input, digit, p, &mut tk, &mut tp);
    let ends = ends_of(&counts);
    if shift == plan.tz {
        // One value per bucket, in input order after the scatter.
        let parts = chunks(n, threads);
        let from = split_even(&mut tk, &parts)
            .into_iter()
            .zip(split_even(&mut tp, &parts));
        let to = split_even(k, &parts).into_iter().zip(split_even(p, &parts));
        each(from.zip(to).collect(), |((tk, tp), (k, p))| {
            k.copy_from_slice(tk);
            p.copy_from_slice(tp);
        });
        return true;
    }
    pair_children(k, p, &mut tk, &mut tp, &ends, threads, |_| (shift, plan.tz));
    true
}

/// The pairs' first scatter: the keys of `input` and their payloads `p`
/// into `tk` and `tp` (empty, with room for as many), in the order of `f`,
/// stably, the pages of both faulted in by the threads first.
fn spread_pairs<K, P, C, F>(
    input: Chunks<'_, K>,
    f: F,
    p: &[P],
    tk: &mut Scratch<K>,
    tp: &mut Scratch<P>,
) where
    K: RadixKey + Send + Sync,
    P: Payload + Send + Sync,
    C: Count,
    F: Digit<K>,
{
    let n = input.keys.len();
    assert!(p.len() == n && tk.is_empty() && tp.is_empty());
    let (rk, rp) = (
        &mut tk.spare_capacity_mut()[..n],
        &mut tp.spare_capacity_mut()[..n],
    );
    touch(rk, input.threads, 4096);
    touch(rp, input.threads, 4096);
    let sink = Pairs {
        keys: Shared(rk.as_mut_ptr().cast::<K>()),
        payload: Shared(rp.as_mut_ptr().cast::<P>()),
        from: p,
    };
    // SAFETY: the sink writes into `rk` and `rp`, `n` places of each
    // scratch buffer, which nothing else touches until the scatter returns.
    unsafe { input.scatter::<C, F, _>(f, &sink) };
    // SAFETY: the scatter has written each of the first `n` places of
    // both, within the room of `n` that `Scratch::new` made.
    unsafe {
        tk.set_len(n);
        tp.set_len(n);
    }
}

/// Sorts the buckets of the pairs' first level (ending at `ends`) from
/// `(tk, tp)` into `(k, p)`, each thread a group of them with the serial
/// pairs sort; the keys of bucket `d` agree above their low `bits_of(d).0`
/// bits and below bit `bits_of(d).1`. Each thread gives back the pages of
/// its part of a scratch buffer that is freed after the sort
/// ([`Scratch::freed_after`]) once done with them.
fn pair_children<K: RadixKey + Send + Sync, P: Payload + Send + Sync>(
    k: &mut [K],
    p: &mut [P],
    tk: &mut Scratch<K>,
    tp: &mut Scratch<P>,
    ends: &[usize],
    threads: usize,
    bits_of: impl Fn(usize) -> (u32, u32) + Sync,
) {
    let freed = (tk.freed_after(), tp.freed_after());
    let parts = groups(ends, threads);
    let out = split(k, &parts).into_iter().zip(split(p, &parts));
    let from = split(tk, &parts).into_iter().zip(split(tp, &parts));
    each(
        out.zip(from).zip(&parts).collect(),
        |(((k, p), (tk, tp)), part)| {
            let mut stack: Vec<usize> = Vec::new();
            let mut start = 0;
            for d in part.buckets.clone() {
                let end = ends[d] - part.keys.start;
                if end > start {
                    let (bits, tz) = bits_of(d);
                    pairs::msd(
                        &mut tk[start..end],
                        &mut tp[start..end],
                        &mut k[start..end],
                        &mut p[start..end],
                        false,
                        bits,
                        tz.min(bits),
                        &mut stack,
                    );
                }
                start = end;
            }
            if freed.0 {
                sort::release(tk);
            }
            if freed.1 {
                sort::release(tp);
            }
        },
    );
}

/// The passes of [`sort::choose_first`] over `threads` contiguous chunks of
/// the input, one thread each; keeps each chunk's histogram of the last
/// digit, for the scatter.
pub(crate) struct Chunks<'a, T> {
    keys: &'a [T],
    threads: usize,
    /// The keys may change while they are read ([`sort::Io::may_change`]):
    /// the scatter drops a key whose place is already taken, and its
    /// output is initialised first.
    may_change: bool,
    /// The last digit histogrammed and its histogram over each chunk, as
    /// `(F, Vec<Vec<C>>)`.
    last: Option<Box<dyn Any>>,
}

impl<'a, T: RadixKey + Sync> Chunks<'a, T> {
    /// These chunks, read as keys that may change meanwhile
    /// (`may_change`) or not.
    pub(crate) fn changing(self, may_change: bool) -> Chunks<'a, T> {
        Chunks { may_change, ..self }
    }

    pub(crate) fn new(keys: &'a [T], threads: usize) -> Chunks<'a, T> {
        Chunks {
            keys,
            threads,
            may_change: false,
            last: None,
        }
    }

    /// The histogram of `f` over each chunk, and the AND and the OR of its
    /// keys.
    fn chunk_histograms<C: Count, F: Digit<T>>(&self, f: F) -> Vec<(Vec<C>, u64, u64)> {
        let keys = self.keys;
        each(chunks(keys.len(), self.threads), |r| {
            let mut counts = vec![C::default(); f.buckets()];
            let (and, or) = sort::histogram_bits(&keys[r], &mut counts, f);
            (counts, and, or)
        })
    }

    /// Moves each key `x` of the input to its place in the order of `f`
    /// through `sink`, stably, each thread its chunk; `counts` is the
    /// histogram of `f` over the input.
    ///
    /// # Safety
    /// `sink` writes into an output with room for `self.keys.len()`
    /// elements, which nothing else reads or writes until this returns.
    unsafe fn scatter<C: Count, F: Digit<T>, S: Sink<T>>(self, f: F, sink: &S) {
        let n = self.keys.len();
        let per: Vec<Vec<C>> = match self
            .last
            .and_then(|last| last.downcast::<(F, Vec<Vec<C>>)>().ok())
        {
            Some(last) if last.0 == f => last.1,
            _ => {
                // The last histogram was of another digit (a logarithmic
                // one tried and not taken): count this one again.
                let again = Chunks::new(self.keys, self.threads);
                let parts = again.chunk_histograms::<C, F>(f);
                parts.into_iter().map(|(c, _, _)| c).collect()
            }
        };
        // Where each thread writes its keys of each bucket: the buckets in
        // order, and within a bucket the chunks in order.
        let mut at: Vec<Vec<C>> = vec![Vec::with_capacity(f.buckets()); per.len()];
        let mut sum = 0;
        for d in 0..f.buckets() {
            for (t, counts) in per.iter().enumerate() {
                at[t].push(C::set(sum));
                sum += counts[d].get();
            }
        }
        // The chunks' histograms are of exactly these keys under this
        // digit, so they add up to `n`.
        assert_eq!(sum, n, "the chunks' histograms cover the input");
        let keys = self.keys;
        if self.may_change {
            // Each (thread, digit) range ends where its histogram says.
            let ends: Vec<Vec<C>> = at
                .iter()
                .zip(&per)
                .map(|(at, per)| {
                    at.iter()
                        .zip(per)
                        .map(|(a, c)| C::set(a.get() + c.get()))
                        .collect()
                })
                .collect();
            let work = chunks(n, self.threads)
                .into_iter()
                .zip(at)
                .zip(ends)
                .collect();
            each(work, |((r, mut at), ends)| {
                let start = r.start;
                for (i, &x) in keys[r].iter().enumerate() {
                    let d = f.of(x);
                    // SAFETY: `Digit::of` is below `buckets() == at.len()
                    // == ends.len()`.
                    let (slot, end) = unsafe { (at.get_unchecked_mut(d), ends.get_unchecked(d)) };
                    let o = slot.get();
                    // A key that changed since it was counted finds its
                    // range full and is dropped.
                    if o < end.get() {
                        // SAFETY: `o` lies in this thread's range for digit
                        // `d`, which no other (thread, digit) range
                        // overlaps and which lies in `0..n` (as below).
                        unsafe { sink.put(start + i, x, o) };
                        *slot = C::set(o + 1);
                    }
                }
                // The places of this thread's ranges that keys went
                // missing from.
                for (at, end) in at.iter().zip(&ends) {
                    for o in at.get()..end.get() {
                        // SAFETY: as above, in this thread's range.
                        unsafe { sink.blank(o) };
                    }
                }
            });
            return;
        }
        let work = chunks(n, self.threads).into_iter().zip(at).collect();
        each(work, |(r, mut at)| {
            let start = r.start;
            for (i, &x) in keys[r].iter().enumerate() {
                let d = f.of(x);
                // SAFETY: `Digit::of` is below `buckets() == at.len()`.
                let slot = unsafe { at.get_unchecked_mut(d) };
                let o = slot.get();
                // SAFETY: this chunk holds `per[t][d]` keys of digit `d` (its
                // histogram under the same pure digit function), and
                // `at[d]` starts where the keys of smaller digits and of
                // earlier chunks with this digit end: this thread writes
                // its keys of digit `d` to a range of that many places that
                // no other (thread, digit) range overlaps, and the ranges
                // tile `0..n` (their sum is `n`). So `o < n`, within the
                // sink's room (the caller's guarantee), and no other
                // thread writes or reads place `o`.
                unsafe { sink.put(start + i, x, o) };
                *slot = C::set(o + 1);
            }
        });
    }
}

impl<T: RadixKey + Sync> Input<T> for Chunks<'_, T> {
    fn keys(&self) -> &[T] {
        self.keys
    }

    fn histogram<C: Count, F: Digit<T>>(&mut self, counts: &mut [C], f: F) -> (u64, u64) {
        let parts = self.chunk_histograms::<C, F>(f);
        let (mut and, mut or) = (u64::MAX, 0);
        for (chunk, a, o) in &parts {
            and &= a;
            or |= o;
            for (sum, c) in counts.iter_mut().zip(chunk) {
                *sum = C::set(sum.get() + c.get());
            }
        }
        let per: Vec<Vec<C>> = parts.into_iter().map(|(c, _, _)| c).collect();
        self.last = Some(Box::new((f, per)));
        (and, or)
    }

    fn min_max(&mut self) -> (u64, u64) {
        let keys = self.keys;
        each(chunks(keys.len(), self.threads), |r| {
            sort::min_max(&keys[r])
        })
        .into_iter()
        .fold((u64::MAX, 0), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)))
    }
}

/// The first level's scatter of the keys of `input` into a new scratch
/// buffer of their number, each key `x` written as `map(x)`, in the order of
/// `f`, stably; `input`'s last histogram was of `f`, or it counts again.
/// The threads first fault in the buffer's pages, each its share of them,
/// as the serial scatter does. None if the buffer cannot be had.
fn spread<T, U, C, F>(input: Chunks<'_, T>, f: F, map: impl Fn(T) -> U + Sync) -> Option<Scratch<U>>
where
    T: RadixKey + Sync,
    U: Copy + Default + Send,
    C: Count,
    F: Digit<T>,
{
    let n = input.keys.len();
    let mut scratch = Scratch::<U>::new(n)?;
    let room = &mut scratch.spare_capacity_mut()[..n];
    touch(room, input.threads, 4096);
    let sink = Keys {
        out: Shared(room.as_mut_ptr().cast::<U>()),
        map,
    };
    // SAFETY: the sink writes into `room`, `n` places of the scratch
    // buffer, which nothing else touches until the scatter returns.
    unsafe { input.scatter::<C, F, _>(f, &sink) };
    // SAFETY: the scatter has written each of the first `n` places (for
    // keys that may change, the places keys went missing from too), within
    // the room of `n` that `Scratch::new` made.
    unsafe { scratch.set_len(n) };
    Some(scratch)
}

/// Writes one element per `bytes` bytes of `room` (4096: per page), each
/// thread its share: the pages are faulted in by as many threads, in
/// order, and the scatter that follows writes every element again.
fn touch<U: Copy + Default + Send>(room: &mut [MaybeUninit<U>], threads: usize, bytes: usize) {
    let step = (bytes / size_of::<U>().max(1)).max(1);
    let parts = chunks(room.len(), threads);
    each(split_even(room, &parts), |part| {
        for x in part.iter_mut().step_by(step) {
            x.write(U::default());
        }
    });
}

/// A pointer to an output buffer that the threads of a scatter share, each
/// writing places that no other thread touches ([`Sink::put`]).
#[derive(Clone, Copy)]
struct Shared<U>(*mut U);

// SAFETY: only [`Sink::put`] writes through the pointer, and its contract
// gives each place to one thread; the values it writes may move between
// threads (`U: Send`).
unsafe impl<U: Send> Send for Shared<U> {}
// SAFETY: as for `Send`: shared, the pointer only writes places that one
// thread each owns.
unsafe impl<U: Send> Sync for Shared<U> {}

/// Where a scatter puts the element at index `i` of its input, whose key is
/// `x`: at place `at` of its output.
trait Sink<T>: Sync {
    /// # Safety
    /// `at` is within the output, and no other thread reads or writes place
    /// `at` until the scatter's threads have been joined.
    unsafe fn put(&self, i: usize, x: T, at: usize);

    /// Writes a default element at place `at`, where a key that changed
    /// meanwhile left it unwritten ([`Chunks::changing`]). Only the key
    /// sink reads keys that may change.
    ///
    /// # Safety
    /// As for [`Sink::put`].
    unsafe fn blank(&self, at: usize);
}

/// The sink of the pairs sort: the key and its payload (`from[i]`).
struct Pairs<'a, K, P> {
    keys: Shared<K>,
    payload: Shared<P>,
    from: &'a [P],
}

impl<K: Send + Default, P: Copy + Default + Send + Sync> Sink<K> for Pairs<'_, K, P> {
    #[inline(always)]
    unsafe fn blank(&self, at: usize) {
        // SAFETY: as for `put`.
        unsafe {
            self.keys.0.add(at).write(K::default());
            self.payload.0.add(at).write(P::default());
        }
    }

    #[inline(always)]
    unsafe fn put(&self, i: usize, x: K, at: usize) {
        let y = self.from[i];
        // SAFETY: `at` is within both outputs (as long) and this thread's
        // alone (the caller's guarantee).
        unsafe {
            self.keys.0.add(at).write(x);
            self.payload.0.add(at).write(y);
        }
    }
}

/// The sink of the key-only sorts: `map(x)` at `out[at]`.
struct Keys<U, M> {
    out: Shared<U>,
    map: M,
}

impl<T, U: Send + Default, M: Fn(T) -> U + Sync> Sink<T> for Keys<U, M> {
    #[inline(always)]
    unsafe fn blank(&self, at: usize) {
        // SAFETY: as for `put`.
        unsafe { self.out.0.add(at).write(U::default()) }
    }

    #[inline(always)]
    unsafe fn put(&self, _: usize, x: T, at: usize) {
        // SAFETY: `at` is within the output and this thread's alone (the
        // caller's guarantee).
        unsafe { self.out.0.add(at).write((self.map)(x)) }
    }
}

/// Runs `work` on each input, one thread each (the first on the calling
/// thread), and returns the results in order. An input whose thread
/// cannot be started (the process at its limit of threads) is worked on
/// by the calling thread. A panic in any of them reaches the caller once
/// all have stopped.
fn each<A: Send, R: Send>(inputs: Vec<A>, work: impl Fn(A) -> R + Sync) -> Vec<R> {
    use std::sync::Mutex;
    // Each input waits in a slot for whichever thread takes it first.
    let slots: Vec<Mutex<Option<A>>> = inputs.into_iter().map(|a| Mutex::new(Some(a))).collect();
    let take = |slot: &Mutex<Option<A>>| match slot.lock() {
        Ok(mut guard) => guard.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    let (work, take) = (&work, &take);
    std::thread::scope(|s| {
        let handles: Vec<_> = slots
            .iter()
            .skip(1)
            .map(|slot| {
                std::thread::Builder::new()
                    .spawn_scoped(s, move || take(slot).map(work))
                    .ok()
            })
            .collect();
        let mut out = Vec::with_capacity(slots.len());
        out.extend(slots.first().and_then(take).map(work));
        let mut orphans: Vec<Option<R>> = slots
            .iter()
            .skip(1)
            .zip(&handles)
            .map(|(slot, h)| {
                if h.is_some() {
                    None
                } else {
                    take(slot).map(work)
                }
            })
            .collect();
        for (h, orphan) in handles.into_iter().zip(&mut orphans) {
            match h {
                Some(h) => match h.join() {
                    Ok(r) => out.extend(r),
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                None => out.extend(orphan.take()),
            }
        }
        out
    })
}

/// The `threads` contiguous chunks of `n` keys, as even as can be.
fn chunks(n: usize, threads: usize) -> Vec<Range<usize>> {
    (0..threads)
        .map(|t| t * n / threads..(t + 1) * n / threads)
        .collect()
}

/// `s` cut into the consecutive `parts` (which cover it).
fn split_even<'a, X>(mut s: &'a mut [X], parts: &[Range<usize>]) -> Vec<&'a mut [X]> {
    let mut out = Vec::with_capacity(parts.len());
    for r in parts {
        let (head, tail) = std::mem::take(&mut s).split_at_mut(r.len());
        out.push(head);
        s = tail;
    }
    out
}

/// A contiguous group of the first level's buckets, which one thread sorts.
#[derive(Clone, Debug)]
struct Part {
    /// Its buckets.
    buckets: Range<usize>,
    /// Where their keys are.
    keys: Range<usize>,
}

/// The bucket ends of the histogram `counts`.
fn ends_of<C: Count>(counts: &[C]) -> Vec<usize> {
    let mut sum = 0;
    counts
        .iter()
        .map(|c| {
            sum += c.get();
            sum
        })
        .collect()
}

/// The buckets (ending at `ends`) in `threads` contiguous groups of about
/// as many keys each: each cut falls at the bucket end nearest to its
/// share. A bucket larger than a share makes its group larger (and another
/// one smaller, or empty).
fn groups(ends: &[usize], threads: usize) -> Vec<Part> {
    let n = ends.last().copied().unwrap_or(0);
    let start_of = |b: usize| if b == 0 { 0 } else { ends[b - 1] };
    let mut cuts = vec![0];
    for g in 1..threads {
        let target = n / threads * g + n % threads * g / threads;
        // The first bucket that ends at or after the target.
        let b = ends.partition_point(|&e| e < target);
        let cut = if b < ends.len() && ends[b] - target < target - start_of(b) {
            b + 1
        } else {
            b
        };
        cuts.push(cut.max(cuts[cuts.len() - 1]));
    }
    cuts.push(ends.len());
    cuts.windows(2)
        .map(|w| Part {
            buckets: w[0]..w[1],
            keys: start_of(w[0])..start_of(w[1]),
        })
        .collect()
}

/// `s` cut into the key ranges of `parts` (which cover it).
fn split<'a, X>(s: &'a mut [X], parts: &[Part]) -> Vec<&'a mut [X]> {
    let ranges: Vec<Range<usize>> = parts.iter().map(|p| p.keys.clone()).collect();
    split_even(s, &ranges)
}

/// The ends of the buckets of `part`, from the start of its keys.
fn relative<C: Count>(ends: &[usize], part: &Part) -> Vec<C> {
    ends[part.buckets.clone()]
        .iter()
        .map(|&e| C::set(e - part.keys.start))
        .collect()
}
