//! The results as text: a table per workload for people, or CSV with one
//! line per row for other programs.

use super::{BenchArgs, Row};

pub(super) fn table(rows: &[Row], args: &BenchArgs) -> String {
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
        out += &format!(
            "{} · {} · {} keys · median of {} run(s), seed {}\n",
            first.key_type, first.input, first.keys, args.repeat, args.seed
        );
        let width = group
            .iter()
            .map(|r| r.backend.len())
            .max()
            .unwrap_or(7)
            .max(7);
        out += &format!(
            "  {:<width$}  {:>9}  {:>8}  {:>9}  {:>8}\n",
            "BACKEND", "NS/KEY", "SPREAD", "MKEYS/S", "VS STD"
        );
        let mut ordered: Vec<&Row> = group.iter().filter(|r| r.status != "baseline").collect();
        ordered.sort_by(|a, b| {
            let key = |r: &Row| r.ns_per_key.unwrap_or(f64::INFINITY);
            key(a).total_cmp(&key(b))
        });
        for row in ordered
            .into_iter()
            .chain(group.iter().filter(|r| r.status == "baseline"))
        {
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
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("file a,b"), "\"file a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
