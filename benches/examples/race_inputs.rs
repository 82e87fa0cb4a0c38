//! The inputs of `benches/race-records.sh`, deterministic from a seed:
//!
//! ```text
//! race_inputs records ROWS SEED FILE   # CSV: header + ROWS lines
//! race_inputs lines COUNT SEED FILE    # COUNT whole-line i64 integers
//! ```
//!
//! `records` writes `id,amount,name,score`: a running id from 1000000001
//! (so the ids of equal amounts show whether a sort kept their order), an
//! i64 amount, a word of 4 to 22 lowercase letters and a float with two
//! decimals below one billion: about 48 bytes a line, 240 MB for 5e6 rows. The amounts mix magnitudes: 30% lie
//! in -1000..=1000, where each value repeats hundreds of times in 5e6
//! rows, so a sort that is not stable shows it; 0.1% are `i64::MIN`,
//! `i64::MAX` or 0; the rest have 1 to 19 digits (uniform in the number of
//! digits) and either sign. `lines` writes integers uniform over the i64
//! range. Every integer is canonical (no `+`, no leading zero, no `-0`),
//! as `wildhost sort` writes them.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use wildhost_benches::Rng;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [kind, count, seed, file] => count
            .parse::<u64>()
            .ok()
            .zip(seed.parse::<u64>().ok())
            .map(|(count, seed)| (kind.as_str(), count, seed, file)),
        _ => None,
    };
    let result = match parsed {
        Some(("records", rows, seed, file)) => write_to(file, |out| records(out, rows, seed)),
        Some(("lines", count, seed, file)) => write_to(file, |out| lines(out, count, seed)),
        _ => {
            eprintln!("error: expected `records|lines COUNT SEED FILE`");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write `{}`\n  cause: {e}", args[3]);
            ExitCode::FAILURE
        }
    }
}

fn write_to(file: &str, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(file)?);
    body(&mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Ten digits from the first row to the last of any size we race.
const FIRST_ID: u64 = 1_000_000_001;

fn records(out: &mut dyn Write, rows: u64, seed: u64) -> io::Result<()> {
    let mut rng = Rng::new(seed);
    let mut word = [0u8; 22];
    writeln!(out, "id,amount,name,score")?;
    for id in FIRST_ID..FIRST_ID + rows {
        let amount = amount(&mut rng);
        let len = 4 + rng.below(19) as usize;
        for letter in &mut word[..len] {
            *letter = b'a' + rng.below(26) as u8;
        }
        let cents = rng.below(100_000_000_000);
        write!(out, "{id},{amount},")?;
        out.write_all(&word[..len])?;
        writeln!(out, ",{}.{:02}", cents / 100, cents % 100)?;
    }
    Ok(())
}

fn amount(rng: &mut Rng) -> i64 {
    match rng.below(1000) {
        0..300 => rng.below(2001) as i64 - 1000,
        300 => [i64::MIN, i64::MAX, 0][rng.below(3) as usize],
        _ => {
            let digits = 1 + rng.below(19) as u32;
            let low = 10u64.pow(digits - 1);
            // 19 digits stop at i64::MAX.
            let high = 10u64.pow(digits).min(1 << 63);
            let magnitude = (low + rng.below(high - low)) as i64;
            if rng.below(2) == 0 {
                magnitude
            } else {
                -magnitude
            }
        }
    }
}

fn lines(out: &mut dyn Write, count: u64, seed: u64) -> io::Result<()> {
    let mut rng = Rng::new(seed);
    for _ in 0..count {
        writeln!(out, "{}", rng.next_u64() as i64)?;
    }
    Ok(())
}
