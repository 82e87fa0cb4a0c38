//! Property-style tests: every sort of the crate against the std sort, with
//! bitwise equality, for every key type, distribution and a set of lengths
//! around each cut-over of the implementation.

#![allow(clippy::unwrap_used)]

use wildsort_radix::sort;

mod common;

use common::{Bits, DISTRIBUTIONS, Rng, generate};

/// A key type with the crate's sort of it, against std's.
trait TestKey: Bits {
    fn reference_sort(v: &mut [Self]) {
        v.sort_by(Self::order);
    }
    fn radix_sort(v: &mut [Self]);
}

macro_rules! test_key {
    ($($t:ty => $sort:path),*) => {$(
        impl TestKey for $t {
            fn radix_sort(v: &mut [Self]) {
                $sort(v);
            }
        }
    )*};
}
test_key!(
    u32 => sort::sort_u32,
    u64 => sort::sort_u64,
    i32 => sort::sort_i32,
    i64 => sort::sort_i64,
    f32 => sort::sort_f32,
    f64 => sort::sort_f64
);

fn check<T: TestKey>(dist: &str, n: usize, seed: u64) {
    check_with::<T>(dist, n, seed, T::radix_sort);
}

fn check_with<T: TestKey>(dist: &str, n: usize, seed: u64, sort: fn(&mut [T])) {
    let mut rng = Rng(seed ^ (n as u64).wrapping_mul(0x1234_5678_9abc_def1));
    let input: Vec<T> = generate(dist, n, &mut rng);
    let mut expected = input.clone();
    T::reference_sort(&mut expected);
    let mut got = input.clone();
    sort(&mut got);
    let eb: Vec<u64> = expected.iter().map(|x| x.bits()).collect();
    let gb: Vec<u64> = got.iter().map(|x| x.bits()).collect();
    if eb != gb {
        let at = eb.iter().zip(&gb).position(|(a, b)| a != b);
        panic!(
            "{} {dist} n={n}: first difference at {at:?}{}",
            std::any::type_name::<T>(),
            if n <= 40 {
                format!("\ninput {input:?}\nwant {expected:?}\ngot {got:?}")
            } else {
                String::new()
            }
        );
    }
}

fn lengths() -> Vec<usize> {
    let mut v = vec![0, 1, 2, 3, 4, 7, 16, 31, 100, 1000, 4096, 100_000];
    for cut in sort::CUTOVERS {
        if cut > 0 && cut <= 300_000 {
            v.extend([cut - 1, cut, cut + 1]);
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

fn check_all<T: TestKey>() {
    for n in lengths() {
        for dist in DISTRIBUTIONS {
            for seed in 0..2 {
                check::<T>(dist, n, seed);
            }
        }
    }
}

#[test]
fn the_radix_passes_alone_sort_small_inputs() {
    // The benchmark times them below the cut-over: they must be right there.
    for n in [
        0, 1, 2, 3, 5, 16, 17, 31, 64, 100, 255, 256, 300, 1000, 4095,
    ] {
        for dist in DISTRIBUTIONS {
            for seed in 0..2 {
                check_with::<u32>(dist, n, seed, sort::radix_sort_without_cutover);
                check_with::<u64>(dist, n, seed, sort::radix_sort_without_cutover);
                check_with::<f64>(dist, n, seed, sort::radix_sort_without_cutover);
                check_with::<i64>(dist, n, seed, sort::radix_sort_without_cutover);
                check_with::<f32>(dist, n, seed, sort::radix_sort_without_cutover);
            }
        }
    }
}

#[test]
fn u32_matches_std() {
    check_all::<u32>();
}
#[test]
fn u64_matches_std() {
    check_all::<u64>();
}
#[test]
fn i32_matches_std() {
    check_all::<i32>();
}
#[test]
fn i64_matches_std() {
    check_all::<i64>();
}
#[test]
fn f32_matches_std() {
    check_all::<f32>();
}
#[test]
fn f64_matches_std() {
    check_all::<f64>();
}

/// From 4 MiB the scratch buffer is allocated on huge-page boundaries and,
/// where that costs at most a quarter more, rounded up to whole huge pages:
/// the sizes either side of each rule.
#[test]
fn scratch_on_huge_pages_sorts_right() {
    for n in [524_287, 524_288, 600_000, 700_001] {
        check::<u64>("uniform", n, 3);
    }
    check::<u32>("uniform", 1_048_577, 3);
    check::<f64>("uniform", 700_001, 3);
}

/// Larger inputs that reach the large-input path; slow unoptimised, so run
/// with `cargo test -p wildsort-radix -- --ignored` (.ci/run does).
#[test]
#[ignore = "up to 3M keys per case, minutes with a debug test harness; .ci/run runs it: cargo test -p wildsort-radix -- --ignored"]
fn large_inputs_match_std() {
    for n in [(1 << 16) + 1, 1 << 20, 3_000_000] {
        for dist in DISTRIBUTIONS {
            check::<u64>(dist, n, 7);
            check::<i32>(dist, n, 7);
            check::<f64>(dist, n, 7);
            check::<f32>(dist, n, 7);
        }
    }
}

/// Inputs too large for the cache whose top bits take few values (floats
/// from real distributions, integers in clusters) get a first digit wider
/// than the usual one: past the cache limit, where a sample of the input
/// decides.
#[test]
fn crowded_top_bits_get_a_wide_first_digit() {
    let cache = sort::CUTOVERS[3];
    for n in [cache + 1, 300_000] {
        for dist in ["normal", "lognormal", "unit", "clustered", "signed_log"] {
            check::<u32>(dist, n, 5);
            check::<u64>(dist, n, 5);
            check::<i32>(dist, n, 5);
            check::<i64>(dist, n, 5);
            check::<f32>(dist, n, 5);
            check::<f64>(dist, n, 5);
        }
    }
    // Past `32 * CACHE_KEYS`: `large_inputs_match_std`, in release.
}

/// Keys about as many as the values they take: past the cache limit the
/// first level's buckets are counted and written back from the counts,
/// about one key per count (or eight), where the counts run over the
/// bucket's end.
#[test]
fn dense_keys_are_counted_back() {
    let cache = sort::CUTOVERS[3];
    for n in [cache - 1, cache + 1, 100_000, 300_000] {
        for seed in 0..2 {
            for dist in ["dense", "dense_runs"] {
                check::<u32>(dist, n, seed);
                check::<u64>(dist, n, seed);
                check::<i32>(dist, n, seed);
                check::<i64>(dist, n, seed);
                check::<f64>(dist, n, seed);
            }
        }
    }
}

/// Cache-sized skewed inputs whose keys spread over orders of magnitude
/// take a logarithmic first digit sized to the input, then one insertion
/// sort; every width it can take, and the sizes around the cache limit.
#[test]
fn skewed_cache_sized_inputs_sort_on_a_logarithmic_digit() {
    let mut lengths = vec![256, 257, 511, 512, 1000, 2047, 2048, 3000, 9999, 30_000];
    lengths.extend([65_535, 65_536, 65_537]);
    for n in lengths {
        for seed in 0..2 {
            for dist in ["log_uniform", "log_spread", "log_outlier", "zipf"] {
                check::<u32>(dist, n, seed);
                check::<u64>(dist, n, seed);
                check::<i32>(dist, n, seed);
                check::<i64>(dist, n, seed);
                check::<f32>(dist, n, seed);
                check::<f64>(dist, n, seed);
            }
        }
    }
}

/// Floats are sorted as integers after an in-place map to their ordered
/// keys, below the cut-over (comparison sort) and above it (radix passes):
/// every bit pattern, NaN payloads and `-0.0` included, must come back.
#[test]
fn floats_sorted_as_integer_keys_keep_every_bit() {
    let mut lengths: Vec<usize> = (0..=40).collect();
    for cut in [sort::SMALL_CUTOFF, sort::FLOAT_CUTOFF] {
        lengths.extend([cut - 1, cut, cut + 1]);
    }
    for n in lengths {
        for seed in 0..3 {
            for dist in ["uniform", "specials", "sorted_tail", "distinct16"] {
                check::<f32>(dist, n, seed);
                check::<f64>(dist, n, seed);
            }
        }
    }
}

#[test]
fn float_specials_order() {
    let mut v = f64::specials();
    let mut rng = Rng(3);
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
    sort::sort_f64(&mut v);
    assert_eq!(
        v[0].to_bits(),
        0xffff_ffff_ffff_ffff,
        "-NaN max payload first"
    );
    assert_eq!(v.last().map(|x| x.to_bits()), Some(0x7fff_ffff_ffff_ffff));
    let neg0 = v.iter().position(|x| x.to_bits() == 0x8000_0000_0000_0000);
    let pos0 = v.iter().position(|x| x.to_bits() == 0);
    assert_eq!(neg0.map(|i| i + 1), pos0);
}

/// The exported plugin: its method table names the backend and its sort
/// sorts through the C ABI.
#[test]
fn plugin_export_sorts_through_the_abi() {
    use wildhost_abi::{KeyType, ModuleDef, status};
    unsafe extern "C" {
        fn WildInit_wildsort_radix() -> *const ModuleDef;
    }
    // SAFETY: the entry point of this crate's own export, no arguments.
    let module = unsafe { &*WildInit_wildsort_radix() };
    assert_eq!(module.method_count, 1);
    // SAFETY: the module's method table holds `method_count` entries.
    let method = unsafe { &*module.methods };
    // SAFETY: names are NUL-terminated static strings.
    let name = unsafe { std::ffi::CStr::from_ptr(method.name) };
    assert_eq!(name.to_str().unwrap(), "radix");
    assert_eq!(method.scratch_percent, 100);
    assert_eq!(method.key_types, KeyType::KNOWN_BITS);
    let sort = method.sort.unwrap();
    let mut rng = Rng(9);
    let mut keys: Vec<f64> = (0..10_000).map(|_| f64::from_bits(rng.next())).collect();
    let mut expected = keys.clone();
    expected.sort_by(f64::total_cmp);
    let mut err = [0u8; 128];
    // SAFETY: a valid buffer of `keys.len()` f64 keys and 128 error bytes.
    let code = unsafe {
        sort(
            keys.as_mut_ptr().cast(),
            keys.len(),
            KeyType::F64.bit(),
            err.as_mut_ptr().cast(),
            err.len(),
        )
    };
    assert_eq!(code, status::OK);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&keys), bits(&expected));
}
