//! The results as text: a table per workload for people, or CSV with one
//! line per row for other programs.

use super::Row;

/// A table per workload, `repeat` runs of inputs generated from `seed`
/// (`None` for the keys of a file, which no seed made).
pub(super) fn table(rows: &[Row], repeat: u32, seed: Option<u64>) -> String {
    let seed = seed.map_or(String::new(), |seed| format!(", seed {seed}"));
    let mut out = String::new();
    let mut start = 0;
    while start < rows.len() {
        let first = &rows[start];
        let end = rows[start..]
            .iter()
            .position(|r| {
                (r.key_type, &r.input, r.keys) != (first.key_type, &first.input, first.keys)
            })
            .map_or(rows.len(), |p| start + p);
        let group = &rows[start..end];
        if start > 0 {
            out.push('\n');
        }
        let (things, per_thing, million) = if first.records {
            ("records", "NS/RECORD", "MREC/S")
        } else {
            ("keys", "NS/KEY", "MKEYS/S")
        };
        out += &format!(
            "{} · {} · {} {things} · median of {} run(s){}\n",
            first.key_type, first.input, first.keys, repeat, seed
        );
        let width = group
            .iter()
            .map(|r| r.backend.len())
            .max()
            .unwrap_or(7)
            .max(7);
        out += &format!(
            "  {:<width$}  {:>9}  {:>8}  {:>9}  {:>8}\n",
            "BACKEND", per_thing, "SPREAD", million, "VS STD"
        );
        // The sorts, fastest first, then the whole record job and memcpy.
        let section = |r: &Row| match r.status {
            "job" => 1,
            "baseline" => 2,
            _ => 0,
        };
        let mut ordered: Vec<&Row> = group.iter().collect();
        ordered.sort_by(|a, b| {
            let key = |r: &Row| r.ns_per_key.unwrap_or(f64::INFINITY);
            section(a).cmp(&section(b)).then(key(a).total_cmp(&key(b)))
        });
        for row in ordered {
            match (row.status, row.ns_per_key) {
                ("failed", _) | (_, None) => {
                    out += &format!(
                        "  {:<width$}  failed: {}\n",
                        row.backend,
                        row.error.as_deref().unwrap_or("no result")
                    );
                }
                (status, Some(ns)) => {
                    let spread = match (row.ns_per_key_min, row.ns_per_key_max) {
                        (Some(lo), Some(hi)) if ns > 0.0 => {
                            format!("±{:.1}%", (hi - lo) / 2.0 / ns * 100.0)
                        }
                        _ => "-".to_string(),
                    };
                    let versus = if status == "baseline" {
                        "floor".to_string()
                    } else {
                        row.speedup_vs_std
                            .map_or("-".into(), |s| format!("{s:.2}×"))
                    };
                    out += &format!(
                        "  {:<width$}  {:>9.3}  {:>8}  {:>9.1}  {:>8}\n",
                        row.backend,
                        ns,
                        spread,
                        row.million_keys_per_s.unwrap_or(0.0),
                        versus
                    );
                }
            }
        }
        start = end;
    }
    out
}

pub(super) fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "type,input,keys,backend,status,ns_per_key,ns_per_key_min,ns_per_key_max,million_keys_per_s,speedup_vs_std,runs,error\n",
    );
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for r in rows {
        let error = r.error.as_deref().unwrap_or("").replace('"', "\"\"");
        out += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},\"{}\"\n",
            r.key_type,
            csv_field(&r.input),
            r.keys,
            csv_field(&r.backend),
            r.status,
            num(r.ns_per_key),
            num(r.ns_per_key_min),
            num(r.ns_per_key_max),
            num(r.million_keys_per_s),
            num(r.speedup_vs_std),
            r.runs,
            error
        );
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_as_records_and_the_whole_job_follows_the_sorts() {
        let row = |backend: &str, status: &'static str, ns: f64| Row {
            status,
            ns_per_key: Some(ns),
            speedup_vs_std: (status == "ok").then(|| 40.0 / ns),
            records: true,
            ..Row::new("i64", "file r.csv, key 2", 1000, backend)
        };
        let rows = [
            row("memcpy", "baseline", 0.5),
            row("std", "ok", 40.0),
            row("radix", "ok", 10.0),
            row("radix (whole job)", "job", 60.0),
        ];
        let text = table(&rows, 3, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..2],
            [
                "i64 · file r.csv, key 2 · 1000 records · median of 3 run(s)",
                "  BACKEND            NS/RECORD    SPREAD     MREC/S    VS STD",
            ]
        );
        let backends: Vec<&str> = lines[2..]
            .iter()
            .map(|l| l.split("  ").find(|w| !w.is_empty()).unwrap_or(""))
            .collect();
        assert_eq!(backends, ["radix", "std", "radix (whole job)", "memcpy"]);
        assert!(lines[4].trim_end().ends_with(" -"), "{}", lines[4]);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("file a,b"), "\"file a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
