//! `wildhost bench --plot FILE.svg`: throughput against size, one line per
//! backend, one chart per key type and input, both axes on a log scale.
//! Each point is the median of the runs, with a bar from the slowest run
//! to the fastest. memcpy, far faster than any sort, has an axis of its
//! own on the right, so that it does not flatten the sorts' lines.
//!
//! SVG only: PNG would need a raster backend and a font library, far more
//! than a chart is worth; `--plot` refuses other names before anything is
//! measured ([`check_path`]).

use super::Row;
use crate::report::Failure;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

const CHART_WIDTH: u32 = 960;
const CHART_HEIGHT: u32 = 520;

/// A colour per backend, the same in every chart of the file.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];
const MEMCPY: RGBColor = RGBColor(0x7f, 0x7f, 0x7f);

/// The file extension `--plot` writes.
pub const EXTENSION: &str = "svg";

/// Refuses a plot file whose name does not end in `.svg`: the plot is
/// SVG, and a file must be what its name says. A usage error, given
/// before any benchmark runs.
pub fn check_path(path: &Path) -> Result<(), Failure> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if extension.eq_ignore_ascii_case(EXTENSION) {
        return Ok(());
    }
    let svg = path.with_extension(EXTENSION);
    let failure = Failure::usage(format!("cannot plot into `{}`", path.display()));
    Err(if extension.eq_ignore_ascii_case("png") {
        failure
            .cause("PNG is not supported: wildhost draws its plots as SVG")
            .help(format!(
                "use `--plot {}`; a browser or an image editor converts SVG to PNG",
                svg.display()
            ))
    } else {
        failure
            .cause(if extension.is_empty() {
                "the file name has no extension; --plot accepts `.svg` only".to_string()
            } else {
                format!("`.{extension}` is not an extension --plot accepts; it accepts `.svg` only")
            })
            .help(format!("use `--plot {}`", svg.display()))
    })
}

/// A point: keys, and the million keys per second of the median, the
/// slowest and the fastest run.
#[derive(Clone, Copy)]
struct Point {
    keys: f64,
    median: f64,
    slowest: f64,
    fastest: f64,
}

/// One line per backend.
type Lines<'a> = BTreeMap<&'a str, Vec<Point>>;

/// Million keys per second at `ns` nanoseconds per key.
fn rate(ns: f64) -> f64 {
    1e3 / ns
}

/// The SVG document for `rows`.
pub fn render(rows: &[Row], repeat: u32) -> Result<String, String> {
    // (type, input) → backend → points
    let mut charts: Vec<((&str, &str), Lines<'_>)> = Vec::new();
    let mut backends: Vec<&str> = Vec::new();
    for row in rows {
        let Some(speed) = row.million_keys_per_s else {
            continue;
        };
        let point = Point {
            keys: row.keys as f64,
            median: speed,
            slowest: row.ns_per_key_max.map_or(speed, rate).min(speed),
            fastest: row.ns_per_key_min.map_or(speed, rate).max(speed),
        };
        let key = (row.key_type, row.input.as_str());
        let index = match charts.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                charts.push((key, BTreeMap::new()));
                charts.len() - 1
            }
        };
        charts[index]
            .1
            .entry(row.backend.as_str())
            .or_default()
            .push(point);
        if row.backend != "memcpy" && !backends.contains(&row.backend.as_str()) {
            backends.push(row.backend.as_str());
        }
    }
    if charts.is_empty() {
        return Err("no backend produced a result to draw".into());
    }
    let colour = |backend: &str| -> RGBColor {
        if backend == "memcpy" {
            return MEMCPY;
        }
        let i = backends.iter().position(|b| *b == backend).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };

    let mut svg = String::new();
    {
        let height = CHART_HEIGHT * charts.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (CHART_WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((charts.len(), 1));
        for (((key_type, input), lines), area) in charts.iter().zip(areas) {
            draw_chart(&area, key_type, input, lines, repeat, &colour)
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The range of a log axis that shows `values` (those above 0), with
/// `below` and `above` as factors of room; 0.1 to 1 for none.
fn log_range<'a>(values: impl Iterator<Item = &'a f64>, below: f64, above: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, 0f64);
    for &v in values.filter(|v| **v > 0.0 && v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi > 0.0 {
        (lo / below, hi * above)
    } else {
        (0.1, 1.0)
    }
}

fn draw_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    key_type: &str,
    input: &str,
    lines: &Lines<'_>,
    repeat: u32,
    colour: &dyn Fn(&str) -> RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let sorts = || {
        lines
            .iter()
            .filter(|(b, _)| **b != "memcpy")
            .flat_map(|(_, p)| p)
    };
    let memcpy = || lines.get("memcpy").into_iter().flatten();
    let keys: Vec<f64> = lines.values().flatten().map(|p| p.keys).collect();
    // One size still gets a readable axis: a decade either side.
    let (x_lo, x_hi) = match log_range(keys.iter(), 1.5, 1.5) {
        (lo, hi) if lo * 1.5 < hi / 1.5 => (lo, hi),
        (lo, hi) => (lo * 1.5 / 10.0, hi / 1.5 * 10.0),
    };
    // Each axis spans its own lines and their bars, with room at the top
    // for the legend.
    let sort_rates: Vec<f64> = sorts().flat_map(|p| [p.slowest, p.fastest]).collect();
    let (y_lo, y_hi) = log_range(sort_rates.iter(), 2.0, 8.0);
    let memcpy_rates: Vec<f64> = memcpy().flat_map(|p| [p.slowest, p.fastest]).collect();
    let (m_lo, m_hi) = log_range(memcpy_rates.iter(), 2.0, 8.0);

    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "wildhost bench: {key_type} keys, {input} input \
                 (median of {repeat} runs, bars: slowest to fastest)"
            ),
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .right_y_label_area_size(72)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale())?
        .set_secondary_coord((x_lo..x_hi).log_scale(), (m_lo..m_hi).log_scale());
    chart
        .configure_mesh()
        .x_desc("keys per sort (log scale)")
        .y_desc("sorts: million keys per second (log scale)")
        .x_label_formatter(&|x| format_keys(*x))
        .y_label_formatter(&|y| format_rate(*y))
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 13))
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("memcpy: million keys per second (log scale)")
        .y_label_formatter(&|y| format_rate(*y))
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 13))
        .draw()?;

    for (backend, points) in lines {
        let mut points = points.clone();
        points.sort_by(|a, b| a.keys.total_cmp(&b.keys));
        let c = colour(backend);
        let line = points.iter().map(|p| (p.keys, p.median));
        let bars = points
            .iter()
            .map(|p| ErrorBar::new_vertical(p.keys, p.slowest, p.median, p.fastest, c, 8));
        let dots = points
            .iter()
            .map(|p| Circle::new((p.keys, p.median), 4, c.filled()));
        if *backend == "memcpy" {
            chart
                .draw_secondary_series(LineSeries::new(line, c.stroke_width(1)))?
                .label("memcpy (upper bound, right axis)")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(1))
                });
            chart.draw_secondary_series(bars)?;
            chart.draw_secondary_series(dots)?;
        } else {
            chart
                .draw_series(LineSeries::new(line, c.stroke_width(3)))?
                .label(backend.to_string())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                });
            chart.draw_series(bars)?;
            chart.draw_series(dots)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// 1000 → "1k", 1000000 → "1M".
fn format_keys(x: f64) -> String {
    let (value, suffix) = if x >= 1e9 {
        (x / 1e9, "G")
    } else if x >= 1e6 {
        (x / 1e6, "M")
    } else if x >= 1e3 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0}{suffix}")
    } else {
        format!("{value:.1}{suffix}")
    }
}

/// Million keys per second, three significant digits at most.
fn format_rate(y: f64) -> String {
    if y >= 10.0 {
        format!("{y:.0}")
    } else if y >= 1.0 {
        format!("{y:.1}")
    } else {
        format!("{y:.2}")
    }
}
