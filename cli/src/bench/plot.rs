//! `wildhost bench --plot FILE.svg`: throughput against size, one line per
//! backend, one chart per key type and input, both axes on a log scale.

use super::Row;
use plotters::prelude::*;
use std::collections::BTreeMap;

const CHART_WIDTH: u32 = 900;
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

/// One line per backend: (keys, million keys per second) points.
type Lines<'a> = BTreeMap<&'a str, Vec<(f64, f64)>>;

/// The SVG document for `rows`.
pub fn render(rows: &[Row], repeat: u32) -> Result<String, String> {
    // (type, input) → backend → [(keys, million keys/s)]
    let mut charts: Vec<((&str, &str), Lines<'_>)> = Vec::new();
    let mut backends: Vec<&str> = Vec::new();
    for row in rows {
        let Some(speed) = row.million_keys_per_s else {
            continue;
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
            .push((row.keys as f64, speed));
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

fn draw_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    key_type: &str,
    input: &str,
    lines: &Lines<'_>,
    repeat: u32,
    colour: &dyn Fn(&str) -> RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let points = lines.values().flatten();
    let (mut x_min, mut x_max) = (f64::INFINITY, 0f64);
    let (mut y_min, mut y_max) = (f64::INFINITY, 0f64);
    for &(x, y) in points {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        if y > 0.0 {
            y_min = y_min.min(y);
            y_max = y_max.max(y);
        }
    }
    // One size still gets a readable axis: a decade either side.
    let (x_lo, x_hi) = if x_min < x_max {
        (x_min / 1.5, x_max * 1.5)
    } else {
        (x_min / 10.0, x_max * 10.0)
    };
    // Throughput spans decades (memcpy against a slow sort): log scale too,
    // with room at the top for the legend.
    let (y_lo, y_hi) = if y_max > 0.0 {
        (y_min / 2.0, y_max * 8.0)
    } else {
        (0.1, 1.0)
    };

    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("wildhost bench: {key_type} keys, {input} input (median of {repeat} runs)"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("keys per sort (log scale)")
        .y_desc("throughput, million keys per second (log scale)")
        .x_label_formatter(&|x| format_keys(*x))
        .y_label_formatter(&|y| format_rate(*y))
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 13))
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .draw()?;

    for (backend, series) in lines {
        let mut series = series.clone();
        series.sort_by(|a, b| a.0.total_cmp(&b.0));
        let c = colour(backend);
        let style = if *backend == "memcpy" {
            c.stroke_width(1)
        } else {
            c.stroke_width(3)
        };
        let label = if *backend == "memcpy" {
            "memcpy (upper bound)".to_string()
        } else {
            backend.to_string()
        };
        chart
            .draw_series(LineSeries::new(series.iter().copied(), style))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        chart.draw_series(
            series
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 4, c.filled())),
        )?;
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
