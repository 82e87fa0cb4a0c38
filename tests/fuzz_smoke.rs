//! The fuzz targets on stable, as part of every test run: the kept corpus
//! (inputs libFuzzer found interesting, and every crash it ever found), then
//! a short seeded run of mutations of it. The long runs are `cargo fuzz`'s
//! (fuzz/README.md).

use std::fs;
use std::path::Path;
use wildhost::fuzzing;
use wildhost_suite::Rng;

/// Mutated inputs per target in every test run.
const MUTATIONS: usize = 3000;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let inputs: Vec<Vec<u8>> = files.iter().map(|f| fs::read(f).expect("read")).collect();
    assert!(!inputs.is_empty(), "the {target} corpus is empty");
    inputs
}

/// One random edit: flip bits, overwrite, insert, delete, splice or
/// truncate, as a fuzzer's mutator would.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    let len = input.len() as u64;
    match rng.below(7) {
        0 if len > 0 => {
            let i = rng.below(len) as usize;
            input[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len) as usize;
            input[i] = [0, 0xff, 0x7f, 0x80, b'\n', b'-', b'e', b'.'][rng.below(8) as usize];
        }
        2 => {
            let i = rng.below(len + 1) as usize;
            input.insert(i, rng.next_u64() as u8);
        }
        3 if len > 0 => {
            let i = rng.below(len) as usize;
            let n = (rng.below(16) as usize).min(input.len() - i);
            input.drain(i..i + n);
        }
        4 if !other.is_empty() => {
            let from = rng.below(other.len() as u64) as usize;
            let n = (rng.below(64) as usize).min(other.len() - from);
            let at = rng.below(len + 1) as usize;
            input.splice(at..at, other[from..from + n].iter().copied());
        }
        5 if len > 0 => input.truncate(rng.below(len) as usize),
        _ if len >= 8 => {
            let i = rng.below(len - 7) as usize;
            let value =
                [0u64, u64::MAX, 1 << 63, 0x5452_4F53_444C_4957, 72, 40][rng.below(6) as usize];
            input[i..i + 8].copy_from_slice(&value.to_le_bytes());
        }
        _ => input.push(rng.next_u64() as u8),
    }
}

fn smoke(target: &str, run: fn(&[u8])) {
    smoke_with(target, run, MUTATIONS);
}

/// [`smoke`] with `mutations` mutated inputs.
fn smoke_with(target: &str, run: fn(&[u8]), mutations: usize) {
    let corpus = corpus(target);
    for input in &corpus {
        run(input);
    }
    let mut rng = Rng::new(0xF022 ^ target.len() as u64);
    for _ in 0..mutations {
        let mut input = corpus[rng.below(corpus.len() as u64) as usize].clone();
        let other = &corpus[rng.below(corpus.len() as u64) as usize];
        for _ in 0..=rng.below(8) {
            mutate(&mut rng, &mut input, other);
        }
        run(&input);
    }
}

#[test]
fn text_parser() {
    smoke("text", fuzzing::text);
}

#[test]
fn record_reader_and_writer() {
    smoke("records", fuzzing::records);
}

#[test]
fn object_preflight() {
    smoke("object", fuzzing::object);
}

#[test]
fn module_definition_validator() {
    smoke("module_definition", fuzzing::module_definition);
}

#[test]
fn wire_decoders() {
    smoke("wire", fuzzing::wire);
}

#[test]
fn archive_reader() {
    // Each input is unpacked into a directory of its own on disk, a few
    // milliseconds of file-system work each: fewer mutations.
    smoke_with("archive", fuzzing::archive, 300);
}
