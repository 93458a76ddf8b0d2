//! Charts as standalone SVG files, drawn with plotters from the ledger.
//!
//! Each chart kind is one function that gathers its data, draws it, and
//! returns a [`Chart`] with a title, a text alternative (the data in
//! words) and the CSV of what it plots. Charts know nothing of pages.

pub mod style;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;

use crate::count::{Analysis, Kind};
use crate::error::{Error, Result};
use crate::numfmt::{percent, si};
use crate::report::ledger::Ledger;
use style::{color, FAMILY, INK, PAPER, SIZE};

/// A drawn chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name inside `charts/`, e.g. `params-by-kind.svg`.
    pub file: String,
    /// Caption and SVG `<title>`.
    pub title: String,
    /// Text alternative: what the chart shows, with its numbers.
    pub alt: String,
    /// The SVG document.
    pub svg: String,
    /// The plotted data as CSV.
    pub csv: String,
}

/// What a page asks for: `chart(kind="layers", models=["vgg19","resnet34"], metric="params")`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartArgs {
    /// `params_by_kind`, `layers`, `cumulative`, `sections`, `scatter` or `resolution`.
    pub kind: String,
    /// Models to plot (default: every model).
    pub models: Option<Vec<String>>,
    /// `params` or `macs` where the kind allows both.
    pub metric: Option<String>,
    /// Input sizes for `resolution` (default 112, 160, 224, 320, 448).
    #[serde(default, deserialize_with = "crate::report::number::opt_whole_list")]
    pub sizes: Option<Vec<u64>>,
    /// Overrides the default title.
    pub title: Option<String>,
}

/// Chart kinds, for messages.
pub const KINDS: &str = "params_by_kind, layers, cumulative, sections, scatter, resolution";

pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// `configure_mesh()` with the shared grid, axis and label style.
macro_rules! styled_mesh {
    ($chart:expr, $size:expr) => {
        $chart
            .configure_mesh()
            .light_line_style($crate::chart::style::GRID)
            .max_light_lines(1)
            .bold_line_style($crate::chart::style::GRID)
            .axis_style($crate::chart::style::INK)
            .label_style($crate::chart::font($size))
    };
}
pub(crate) use styled_mesh;

/// Draws the series legend in the shared style at `position`.
pub(crate) fn legend<'a, 'b: 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(PAPER)
        .border_style(INK)
        .label_font(font(12))
        .draw()
        .map_err(plot_err)
}

pub(crate) fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Render {
        message: format!("drawing a chart failed: {e}"),
        span: None,
        location: None,
    }
}

fn arg_err(message: String) -> Error {
    Error::Render {
        message,
        span: None,
        location: None,
    }
}

/// Draws into an SVG string of the standard size.
pub(crate) fn draw(f: impl FnOnce(&Area) -> Result<()>) -> Result<String> {
    style::init_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&PAPER).map_err(plot_err)?;
        f(&root)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&INK)
}

#[derive(Clone, Copy, PartialEq)]
enum Metric {
    Params,
    Macs,
    /// MACs per parameter: how often each weight is used (layers chart only).
    Reuse,
}

impl Metric {
    fn parse(m: Option<&str>) -> Result<Metric> {
        match m.unwrap_or("params") {
            "params" => Ok(Metric::Params),
            "macs" => Ok(Metric::Macs),
            "reuse" => Ok(Metric::Reuse),
            other => Err(arg_err(format!(
                "unknown metric `{other}` (use \"params\", \"macs\", or \"reuse\" for the layers chart)"
            ))),
        }
    }
    fn label(self) -> &'static str {
        match self {
            Metric::Params => "parameters",
            Metric::Macs => "MACs",
            Metric::Reuse => "MACs per parameter",
        }
    }
    fn slug(self) -> &'static str {
        match self {
            Metric::Params => "params",
            Metric::Macs => "macs",
            Metric::Reuse => "reuse",
        }
    }
    fn of_layer(self, l: &crate::count::Layer) -> u64 {
        match self {
            Metric::Params => l.params(),
            Metric::Macs => l.cost.macs,
            // Rounded, and at least 1 for a layer that computes anything, so a
            // linear layer (MACs just under its parameters, the bias) plots at 1.
            Metric::Reuse if l.cost.macs == 0 => 0,
            Metric::Reuse => {
                ((l.cost.macs as f64 / l.params().max(1) as f64).round() as u64).max(1)
            }
        }
    }
}

/// Draws the chart a page asked for.
pub fn render(ledger: &Ledger, args: &ChartArgs) -> Result<Chart> {
    let models = args.models.clone().unwrap_or_else(|| ledger.names());
    if models.is_empty() {
        return Err(arg_err("a chart needs at least one model".into()));
    }
    let list: Vec<_> = models
        .iter()
        .map(|m| ledger.analysis(m, None))
        .collect::<Result<_>>()?;
    let metric = Metric::parse(args.metric.as_deref())?;
    if metric == Metric::Reuse && args.kind != "layers" {
        return Err(arg_err(
            "metric \"reuse\" is only for kind=\"layers\"".into(),
        ));
    }
    let mut chart = match args.kind.as_str() {
        "params_by_kind" => params_by_kind(&list)?,
        "layers" => layers(&list, metric)?,
        "cumulative" => cumulative(&list, metric)?,
        "sections" => sections(&list, metric)?,
        "scatter" => scatter(&list)?,
        "resolution" => {
            let sizes = args
                .sizes
                .clone()
                .unwrap_or_else(|| vec![112, 160, 224, 320, 448]);
            if sizes.is_empty() || sizes.contains(&0) {
                return Err(arg_err("`sizes` must be positive input sizes".into()));
            }
            resolution(ledger, &models, &sizes, metric)?
        }
        other => {
            return Err(arg_err(format!(
                "unknown chart kind `{other}` (kinds: {KINDS})"
            )))
        }
    };
    let mut name = args.kind.replace('_', "-");
    if matches!(
        args.kind.as_str(),
        "layers" | "cumulative" | "sections" | "resolution"
    ) {
        name = format!("{name}-{}", metric.slug());
    }
    if args.models.is_some() {
        name = format!("{name}-{}", models.join("-"));
    }
    chart.file = format!("{name}.svg");
    if let Some(t) = &args.title {
        chart.title = t.clone();
    }
    chart.svg = style::finish(&chart.svg, &chart.title, &chart.alt);
    Ok(chart)
}

/// A chart whose file name `render` fills in.
fn chart(title: String, alt: String, svg: String, csv: String) -> Chart {
    Chart {
        file: String::new(),
        title,
        alt,
        svg,
        csv,
    }
}

/// Upper end of a segmented axis with `n` rows (plotters adds one segment past the end).
fn rows_range(n: u32) -> u32 {
    n.saturating_sub(1).max(1)
}

fn millions(v: u64) -> f64 {
    v as f64 / 1e6
}

fn params_by_kind(list: &[std::sync::Arc<Analysis>]) -> Result<Chart> {
    let kinds = [Kind::Conv, Kind::Linear, Kind::Norm];
    let max = list
        .iter()
        .map(|a| millions(a.total.params))
        .fold(0.0, f64::max)
        * 1.08;
    let names: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
    let n = list.len() as u32;
    let svg = draw(|root| {
        let mut c = ChartBuilder::on(root)
            .caption("Parameters by kind of layer", font(18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(130)
            .build_cartesian_2d(0f64..max.max(1.0), (0u32..rows_range(n)).into_segmented())
            .map_err(plot_err)?;
        styled_mesh!(c, 12)
            .disable_y_mesh()
            .x_desc("parameters (millions)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_labels(n as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(plot_err)?;
        for (k, kind) in kinds.iter().enumerate() {
            let col = color(k);
            c.draw_series(list.iter().enumerate().map(|(i, a)| {
                let before: u64 = kinds[..k].iter().map(|kk| a.kind(*kk).params).sum();
                let x0 = millions(before);
                let x1 = millions(before + a.kind(*kind).params);
                let mut r = Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(i as u32)),
                        (x1, SegmentValue::Exact(i as u32 + 1)),
                    ],
                    col.filled(),
                );
                r.set_margin(3, 3, 0, 0);
                r
            }))
            .map_err(plot_err)?
            .label(kind.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], col.filled()));
        }
        legend(&mut c, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })?;
    let mut alt = String::from("Stacked bars of parameters by kind. ");
    let mut csv = String::from("model,conv,linear,norm,total\n");
    for a in list {
        let t = a.total.params;
        alt.push_str(&format!(
            "{}: {} in total, conv {}, linear {}. ",
            a.name,
            si(t, 1),
            percent(crate::count::Totals::share(a.kind(Kind::Conv).params, t), 0),
            percent(
                crate::count::Totals::share(a.kind(Kind::Linear).params, t),
                0
            )
        ));
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            a.id,
            a.kind(Kind::Conv).params,
            a.kind(Kind::Linear).params,
            a.kind(Kind::Norm).params,
            t
        ));
    }
    Ok(chart(
        "Parameters by kind of layer".into(),
        alt.trim_end().into(),
        svg,
        csv,
    ))
}

/// Conv and linear layers in order, with their metric.
fn weighted(a: &Analysis, metric: Metric) -> Vec<(&str, u64)> {
    a.layers
        .iter()
        .filter(|l| matches!(l.op.kind(), Kind::Conv | Kind::Linear))
        .map(|l| (l.local_path(), metric.of_layer(l)))
        .collect()
}

fn layers(list: &[std::sync::Arc<Analysis>], metric: Metric) -> Result<Chart> {
    let series: Vec<_> = list.iter().map(|a| weighted(a, metric)).collect();
    let n = series.iter().map(Vec::len).max().unwrap_or(1).max(2);
    let max = series
        .iter()
        .flatten()
        .map(|(_, v)| *v)
        .max()
        .unwrap_or(1)
        .max(10) as f64;
    let min = series
        .iter()
        .flatten()
        .map(|(_, v)| *v)
        .filter(|v| *v > 0)
        .min()
        .unwrap_or(1) as f64;
    let title = format!(
        "{} of each conv and linear layer, along depth",
        capital(metric.label())
    );
    let svg = draw(|root| {
        let mut c = ChartBuilder::on(root)
            .caption(&title, font(18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(
                1f64..n as f64,
                ((min / 2.0).max(1.0)..max * 2.0).log_scale(),
            )
            .map_err(plot_err)?;
        styled_mesh!(c, 12)
            .x_desc("conv/linear layer number (input to output)")
            .y_desc(format!("{} (log scale)", metric.label()))
            .y_label_formatter(&|v| si(*v as u64, 0))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(plot_err)?;
        for (i, (a, s)) in list.iter().zip(&series).enumerate() {
            let col = color(i);
            let pts: Vec<(f64, f64)> = s
                .iter()
                .enumerate()
                .filter(|(_, (_, v))| *v > 0)
                .map(|(j, (_, v))| ((j + 1) as f64, *v as f64))
                .collect();
            c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                .map_err(plot_err)?
                .label(a.name.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], col.stroke_width(2)));
            c.draw_series(pts.iter().map(|p| Circle::new(*p, 3, col.filled())))
                .map_err(plot_err)?;
        }
        legend(
            &mut c,
            // Where each metric's curves leave room: parameters start small,
            // MACs start large, reuse falls from the top left.
            match metric {
                Metric::Params => SeriesLabelPosition::UpperLeft,
                Metric::Macs => SeriesLabelPosition::LowerLeft,
                Metric::Reuse => SeriesLabelPosition::UpperRight,
            },
        )?;
        Ok(())
    })?;
    let mut alt = format!(
        "Line chart of {} per conv/linear layer on a log scale. ",
        metric.label()
    );
    let mut csv = String::from("model,index,layer,value\n");
    for (a, s) in list.iter().zip(&series) {
        if let Some((j, (path, v))) = s.iter().enumerate().max_by_key(|(_, (_, v))| *v) {
            alt.push_str(&format!(
                "{}: {} layers; the largest is {path} (layer {}) with {}. ",
                a.name,
                s.len(),
                j + 1,
                si(*v, 1)
            ));
        }
        for (j, (path, v)) in s.iter().enumerate() {
            csv.push_str(&format!("{},{},{path},{v}\n", a.id, j + 1));
        }
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

fn cumulative(list: &[std::sync::Arc<Analysis>], metric: Metric) -> Result<Chart> {
    let series: Vec<Vec<(f64, f64)>> = list
        .iter()
        .map(|a| {
            let w = weighted(a, metric);
            let total: u64 = w.iter().map(|(_, v)| v).sum::<u64>().max(1);
            let mut acc = 0u64;
            let mut pts = vec![(0.0, 0.0)];
            for (j, (_, v)) in w.iter().enumerate() {
                acc += v;
                pts.push((
                    (j + 1) as f64 / w.len() as f64 * 100.0,
                    acc as f64 / total as f64 * 100.0,
                ));
            }
            pts
        })
        .collect();
    let title = format!("Cumulative share of {} along depth", metric.label());
    let svg = draw(|root| {
        let mut c = ChartBuilder::on(root)
            .caption(&title, font(18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..100f64, 0f64..100f64)
            .map_err(plot_err)?;
        styled_mesh!(c, 12)
            .x_desc("depth: share of conv/linear layers passed (%)")
            .y_desc(format!("share of all {} (%)", metric.label()))
            .draw()
            .map_err(plot_err)?;
        for (i, (a, pts)) in list.iter().zip(&series).enumerate() {
            let col = color(i);
            c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                .map_err(plot_err)?
                .label(a.name.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], col.stroke_width(2)));
        }
        legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })?;
    let mut alt = format!(
        "Cumulative share of {} from input to output. ",
        metric.label()
    );
    let mut csv = String::from("model,depth_percent,cumulative_percent\n");
    for (a, pts) in list.iter().zip(&series) {
        // Where half of the total is reached.
        let half = pts
            .iter()
            .find(|(_, y)| *y >= 50.0)
            .map_or(100.0, |(x, _)| *x);
        alt.push_str(&format!(
            "{} reaches half of its {} at {half:.0}% of its depth. ",
            a.name,
            metric.label()
        ));
        for (x, y) in pts {
            csv.push_str(&format!("{},{x:.3},{y:.3}\n", a.id));
        }
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}

fn sections(list: &[std::sync::Arc<Analysis>], metric: Metric) -> Result<Chart> {
    let mut rows: Vec<(usize, String, u64)> = Vec::new();
    for (i, a) in list.iter().enumerate() {
        for (name, t) in &a.sections {
            let v = if metric == Metric::Macs {
                t.macs
            } else {
                t.params
            };
            rows.push((i, format!("{} {name}", a.id), v));
        }
    }
    let labels: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let (scale, unit) = if metric == Metric::Macs {
        (1e9, "G")
    } else {
        (1e6, "M")
    };
    let max = rows.iter().map(|r| r.2 as f64 / scale).fold(0.0, f64::max) * 1.08;
    let n = rows.len() as u32;
    let title = format!("{} per section", capital(metric.label()));
    let svg = draw(|root| {
        let mut c = ChartBuilder::on(root)
            .caption(&title, font(18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(150)
            .build_cartesian_2d(0f64..max.max(0.001), (0u32..rows_range(n)).into_segmented())
            .map_err(plot_err)?;
        styled_mesh!(c, 11)
            .disable_y_mesh()
            .x_desc(format!("{} ({unit})", metric.label()))
            .y_labels(n as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(plot_err)?;
        for (i, a) in list.iter().enumerate() {
            let col = color(i);
            c.draw_series(
                rows.iter()
                    .enumerate()
                    .filter(|(_, r)| r.0 == i)
                    .map(|(j, r)| {
                        let mut rect = Rectangle::new(
                            [
                                (0.0, SegmentValue::Exact(j as u32)),
                                (r.2 as f64 / scale, SegmentValue::Exact(j as u32 + 1)),
                            ],
                            col.filled(),
                        );
                        rect.set_margin(2, 2, 0, 0);
                        rect
                    }),
            )
            .map_err(plot_err)?
            .label(a.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], col.filled()));
        }
        legend(&mut c, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })?;
    let mut alt = format!("Bars of {} per section. ", metric.label());
    let mut csv = String::from("model,section,value\n");
    for (i, a) in list.iter().enumerate() {
        let parts: Vec<String> = rows
            .iter()
            .filter(|r| r.0 == i)
            .map(|r| format!("{} {}", r.1.split_once(' ').map_or("", |x| x.1), si(r.2, 2)))
            .collect();
        alt.push_str(&format!("{}: {}. ", a.name, parts.join(", ")));
        for (name, t) in &a.sections {
            let v = if metric == Metric::Macs {
                t.macs
            } else {
                t.params
            };
            csv.push_str(&format!("{},{name},{v}\n", a.id));
        }
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}

fn scatter(list: &[std::sync::Arc<Analysis>]) -> Result<Chart> {
    let xmax = list
        .iter()
        .map(|a| millions(a.total.params))
        .fold(0.0, f64::max)
        * 1.12;
    let ymax = list
        .iter()
        .map(|a| a.total.macs as f64 / 1e9)
        .fold(0.0, f64::max)
        * 1.12;
    let title = "Parameters against MACs".to_string();
    let svg = draw(|root| {
        let mut c = ChartBuilder::on(root)
            .caption(&title, font(18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..xmax.max(1.0), 0f64..ymax.max(0.1))
            .map_err(plot_err)?;
        styled_mesh!(c, 12)
            .x_desc("parameters (millions)")
            .y_desc("MACs (billions)")
            .draw()
            .map_err(plot_err)?;
        for (i, a) in list.iter().enumerate() {
            let col = color(
                if a.id.starts_with("vgg") { 0 } else { 1 }
                    + if a.extends.is_some() { 2 } else { 0 },
            );
            let p = (millions(a.total.params), a.total.macs as f64 / 1e9);
            let dy = if i % 2 == 0 { -14 } else { 4 };
            c.draw_series(std::iter::once(
                EmptyElement::at(p)
                    + Circle::new((0, 0), 4, col.filled())
                    + Text::new(a.id.clone(), (6, dy), font(11)),
            ))
            .map_err(plot_err)?;
        }
        Ok(())
    })?;
    let mut alt = String::from("Scatter of parameters (x) against MACs (y). ");
    let mut csv = String::from("model,params,macs\n");
    for a in list {
        alt.push_str(&format!(
            "{}: {} parameters, {} MACs. ",
            a.id,
            si(a.total.params, 1),
            si(a.total.macs, 2)
        ));
        csv.push_str(&format!("{},{},{}\n", a.id, a.total.params, a.total.macs));
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}

fn resolution(ledger: &Ledger, models: &[String], sizes: &[u64], metric: Metric) -> Result<Chart> {
    let mut series = Vec::new();
    for m in models {
        let mut pts = Vec::new();
        for &s in sizes {
            let a = ledger.analysis(m, Some(&[3, s, s]))?;
            pts.push((
                s,
                if metric == Metric::Macs {
                    a.total.macs
                } else {
                    a.total.params
                },
            ));
        }
        series.push((ledger.analysis(m, None)?.name.clone(), m.clone(), pts));
    }
    let (scale, unit) = if metric == Metric::Macs {
        (1e9, "billions")
    } else {
        (1e6, "millions")
    };
    let xmax = *sizes.iter().max().unwrap_or(&224) as f64 * 1.05;
    let xmin = *sizes.iter().min().unwrap_or(&0) as f64 * 0.9;
    let ymax = series
        .iter()
        .flat_map(|s| s.2.iter())
        .map(|p| p.1 as f64 / scale)
        .fold(0.0, f64::max)
        * 1.1;
    let title = format!("{} against input resolution", capital(metric.label()));
    let svg = draw(|root| {
        let mut c = ChartBuilder::on(root)
            .caption(&title, font(18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xmin..xmax, 0f64..ymax.max(0.1))
            .map_err(plot_err)?;
        styled_mesh!(c, 12)
            .x_desc("input height = width (pixels)")
            .y_desc(format!("{} ({unit})", metric.label()))
            .draw()
            .map_err(plot_err)?;
        for (i, (name, _, pts)) in series.iter().enumerate() {
            let col = color(i);
            let p: Vec<(f64, f64)> = pts
                .iter()
                .map(|(s, v)| (*s as f64, *v as f64 / scale))
                .collect();
            c.draw_series(LineSeries::new(p.clone(), col.stroke_width(2)))
                .map_err(plot_err)?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], col.stroke_width(2)));
            c.draw_series(p.iter().map(|q| Circle::new(*q, 3, col.filled())))
                .map_err(plot_err)?;
        }
        legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })?;
    let mut alt = format!("{} at input sizes {:?}. ", capital(metric.label()), sizes);
    let mut csv = String::from("model,size,value\n");
    for (name, id, pts) in &series {
        let vals: Vec<String> = pts
            .iter()
            .map(|(s, v)| format!("{s}: {}", si(*v, 2)))
            .collect();
        alt.push_str(&format!("{name}: {}. ", vals.join(", ")));
        for (s, v) in pts {
            csv.push_str(&format!("{id},{s},{v}\n"));
        }
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}
