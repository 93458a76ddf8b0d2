//! Charts as standalone SVG files, drawn with plotters from the ledger.
//!
//! Each chart kind is one function that gathers its data, draws it, and
//! returns a [`Chart`] with a title, a text alternative (the data in
//! words) and the CSV of what it plots. Charts know nothing of pages.
//!
//! Every chart is drawn twice, on a [`Frame`]: wide for desktops and
//! narrow for phones (pages pick one with `<picture>`), so that text is
//! drawn at 13 px and shown at no less than 12 CSS px at either width,
//! instead of one wide image scaled down to a phone. The title and the
//! legend sit above the plot, so a legend never covers data; each model
//! keeps one colour on every chart (its place among all models).

pub mod style;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;

use crate::count::{Analysis, Kind};
use crate::error::{Error, Result};
use crate::numfmt::{percent, si};
use crate::report::ledger::Ledger;
use style::{color, FAMILY, INK, PAPER};

/// A drawn chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name inside `charts/`, e.g. `params-by-kind.svg`.
    pub file: String,
    /// Caption and SVG `<title>`.
    pub title: String,
    /// Text alternative: what the chart shows, with its numbers.
    pub alt: String,
    /// The SVG document, wide.
    pub svg: String,
    /// The same chart on the narrow frame.
    pub svg_narrow: String,
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

/// The canvas a chart is drawn on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Width in SVG pixels (shown at about this many CSS pixels).
    pub width: u32,
    /// Height in SVG pixels.
    pub height: u32,
    /// The phone variant: fewer ticks, a smaller title.
    pub narrow: bool,
}

/// Desktop charts: the article column is 48rem (768 px) wide.
pub const WIDE: Frame = Frame {
    width: 760,
    height: 460,
    narrow: false,
};

/// Phone charts: a 390 px screen leaves a 350 px column.
pub const NARROW: Frame = Frame {
    width: 350,
    height: 440,
    narrow: true,
};

/// Axis labels, legend and point labels. plotters writes a font of size
/// N as `font-size` 0.806 N in the SVG, so 16 is drawn at 12.9 px and shown
/// at 12 CSS px or more on either frame.
pub const TEXT: u32 = 16;

/// How one chart is drawn: its frame, its title, and the models' colours.
pub(crate) struct Look<'a> {
    pub frame: Frame,
    /// `title=` from the page, which replaces the default.
    pub title: Option<&'a str>,
    /// Every model id, in the order that gives each its colour.
    pub ids: &'a [String],
}

impl Look<'_> {
    fn title(&self, default: &str) -> String {
        self.title
            .map_or_else(|| default.to_string(), str::to_string)
    }

    /// A model's colour, the same on every chart of the site.
    fn colour(&self, id: &str) -> RGBColor {
        color(self.ids.iter().position(|i| i == id).unwrap_or(0))
    }

    /// Ticks on an axis of `wide` labels when wide.
    fn ticks(&self, wide: usize) -> usize {
        if self.frame.narrow {
            wide.div_ceil(2).max(3)
        } else {
            wide
        }
    }
}

/// An axis unit for values up to `max`: the divisor, its suffix and the
/// decimals that keep ticks distinct (0 for a range of 5 units or more).
pub(crate) fn unit(max: f64) -> (f64, &'static str, usize) {
    let (scale, suffix) = if max >= 1e9 {
        (1e9, "G")
    } else if max >= 1e6 {
        (1e6, "M")
    } else if max >= 1e3 {
        (1e3, "K")
    } else {
        (1.0, "")
    };
    let decimals = if max / scale >= 5.0 { 0 } else { 1 };
    (scale, suffix, decimals)
}

/// Draws the title and a legend row above the plot; returns the plot's area.
pub(crate) fn head<'a>(
    root: &Area<'a>,
    look: &Look,
    title: &str,
    entries: &[(String, RGBColor, bool)],
) -> Result<Area<'a>> {
    let size = if look.frame.narrow { 19 } else { 22 };
    let title_font = font(size);
    // Titles too wide for the frame wrap onto a second line.
    let mut lines: Vec<String> = vec![String::new()];
    for word in title.split(' ') {
        let line = lines.last_mut().expect("one line");
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        let (w, _) = root
            .estimate_text_size(&candidate, &title_font)
            .map_err(plot_err)?;
        if w + 16 > look.frame.width && !line.is_empty() {
            lines.push(word.to_string());
        } else {
            *line = candidate;
        }
    }
    let mut y = 8i32;
    for line in &lines {
        let (w, h) = root
            .estimate_text_size(line, &title_font)
            .map_err(plot_err)?;
        let x = (look.frame.width.saturating_sub(w) / 2) as i32;
        root.draw(&Text::new(line.clone(), (x, y), title_font.clone()))
            .map_err(plot_err)?;
        y += h as i32 + 4;
    }
    // Legend entries, wrapped into rows.
    let legend = font(TEXT);
    let (mut x, row_h) = (12i32, TEXT as i32 + 8);
    if !entries.is_empty() {
        y += 4;
    }
    for (label, col, line) in entries {
        let (w, _) = root.estimate_text_size(label, &legend).map_err(plot_err)?;
        let need = 22 + w as i32 + 14;
        if x + need > look.frame.width as i32 - 8 && x > 12 {
            x = 12;
            y += row_h;
        }
        let mid = y + TEXT as i32 / 2 + 1;
        if *line {
            root.draw(&PathElement::new(
                [(x, mid), (x + 16, mid)],
                col.stroke_width(3),
            ))
            .map_err(plot_err)?;
        } else {
            root.draw(&Rectangle::new(
                [(x + 2, mid - 6), (x + 14, mid + 6)],
                col.filled(),
            ))
            .map_err(plot_err)?;
        }
        root.draw(&Text::new(label.clone(), (x + 22, y), legend.clone()))
            .map_err(plot_err)?;
        x += need;
    }
    if !entries.is_empty() {
        y += row_h;
    }
    Ok(root.split_vertically(y + 4).1)
}

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

/// Draws plotters' series legend at `position` (the measured chapter's charts).
pub(crate) fn legend<'a, 'b: 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(PAPER)
        .border_style(INK)
        .label_font(font(TEXT))
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

/// Draws into an SVG string of the frame's size.
pub(crate) fn draw(frame: Frame, f: impl FnOnce(&Area) -> Result<()>) -> Result<String> {
    style::init_font();
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (frame.width, frame.height)).into_drawing_area();
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
    let sizes = args
        .sizes
        .clone()
        .unwrap_or_else(|| vec![112, 160, 224, 320, 448]);
    if sizes.is_empty() || sizes.contains(&0) {
        return Err(arg_err("`sizes` must be positive input sizes".into()));
    }
    let ids = ledger.names();
    let draw_on = |frame: Frame| -> Result<Chart> {
        let look = Look {
            frame,
            title: args.title.as_deref(),
            ids: &ids,
        };
        match args.kind.as_str() {
            "params_by_kind" => params_by_kind(&list, &look),
            "layers" => layers(&list, metric, &look),
            "cumulative" => cumulative(&list, metric, &look),
            "sections" => sections(&list, metric, &look),
            "scatter" => scatter(&list, &look),
            "resolution" => resolution(ledger, &models, &sizes, metric, &look),
            other => Err(arg_err(format!(
                "unknown chart kind `{other}` (kinds: {KINDS})"
            ))),
        }
    };
    let mut chart = draw_on(WIDE)?;
    chart.svg_narrow = draw_on(NARROW)?.svg;
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
    chart.svg = style::finish(&chart.svg, WIDE, &chart.title, &chart.alt);
    chart.svg_narrow = style::finish(&chart.svg_narrow, NARROW, &chart.title, &chart.alt);
    Ok(chart)
}

/// A chart whose file name `render` fills in.
fn chart(title: String, alt: String, svg: String, csv: String) -> Chart {
    Chart {
        file: String::new(),
        title,
        alt,
        svg,
        svg_narrow: String::new(),
        csv,
    }
}

/// Upper end of a segmented axis with `n` rows (plotters adds one segment past the end).
fn rows_range(n: u32) -> u32 {
    n.saturating_sub(1).max(1)
}

/// The data of one chart, as the alt text and CSV describe it.
type Series<'a> = &'a [std::sync::Arc<Analysis>];

fn params_by_kind(list: Series, look: &Look) -> Result<Chart> {
    let kinds = [Kind::Conv, Kind::Linear, Kind::Norm];
    let max_raw = list.iter().map(|a| a.total.params).max().unwrap_or(1) as f64;
    let (scale, suffix, decimals) = unit(max_raw);
    let max = max_raw / scale * 1.05;
    let names: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
    let n = list.len() as u32;
    let title = look.title("Parameters by kind of layer");
    let entries: Vec<(String, RGBColor, bool)> = kinds
        .iter()
        .enumerate()
        .map(|(k, kind)| (kind.as_str().to_string(), color(k), false))
        .collect();
    let label_area = names
        .iter()
        .map(|s| s.len() as u32 * 8 + 14)
        .max()
        .unwrap_or(60)
        .min(look.frame.width / 2);
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &entries)?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0f64..max.max(0.001), (0u32..rows_range(n)).into_segmented())
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .disable_y_mesh()
            .x_desc(format!("parameters ({suffix})"))
            .x_labels(look.ticks(8))
            .x_label_formatter(&|v| format!("{v:.decimals$}"))
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
                let x0 = before as f64 / scale;
                let x1 = (before + a.kind(*kind).params) as f64 / scale;
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
            .map_err(plot_err)?;
        }
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
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}

/// Conv and linear layers in order, with their metric.
fn weighted(a: &Analysis, metric: Metric) -> Vec<(&str, u64)> {
    a.layers
        .iter()
        .filter(|l| matches!(l.op.kind(), Kind::Conv | Kind::Linear))
        .map(|l| (l.local_path(), metric.of_layer(l)))
        .collect()
}

/// One legend entry per model, in its site-wide colour.
fn model_entries(list: Series, look: &Look, line: bool) -> Vec<(String, RGBColor, bool)> {
    list.iter()
        .map(|a| (a.name.clone(), look.colour(&a.id), line))
        .collect()
}

fn layers(list: Series, metric: Metric, look: &Look) -> Result<Chart> {
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
    let title = look.title(&format!(
        "{} of each conv and linear layer, along depth",
        capital(metric.label())
    ));
    let entries = model_entries(list, look, true);
    let shown = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &entries)?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(if look.frame.narrow { 70 } else { 84 })
            .build_cartesian_2d(
                1f64..n as f64,
                ((min / 2.0).max(1.0)..max * 2.0).log_scale(),
            )
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .x_desc("conv/linear layer number (input to output)")
            .y_desc(if look.frame.narrow {
                format!("{} (log)", metric.label())
            } else {
                format!("{} (log scale)", metric.label())
            })
            .x_labels(look.ticks(10))
            .y_labels(look.ticks(10))
            // A log axis labels its powers of ten only (not 70M, 80M, 90M),
            // each once (plotters may give the same key point twice).
            .y_label_formatter(&|v| {
                let exp = v.log10();
                let label = if (exp - exp.round()).abs() < 1e-9 {
                    si(v.round() as u64, 0)
                } else {
                    String::new()
                };
                if label.is_empty() || shown.borrow_mut().insert(label.clone()) {
                    label
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(plot_err)?;
        for (a, s) in list.iter().zip(&series) {
            let col = look.colour(&a.id);
            let pts: Vec<(f64, f64)> = s
                .iter()
                .enumerate()
                .filter(|(_, (_, v))| *v > 0)
                .map(|(j, (_, v))| ((j + 1) as f64, *v as f64))
                .collect();
            c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                .map_err(plot_err)?;
            c.draw_series(pts.iter().map(|p| Circle::new(*p, 3, col.filled())))
                .map_err(plot_err)?;
        }
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

fn cumulative(list: Series, metric: Metric, look: &Look) -> Result<Chart> {
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
    let title = look.title(&format!(
        "Cumulative share of {} along depth",
        metric.label()
    ));
    let entries = model_entries(list, look, true);
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &entries)?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(if look.frame.narrow { 56 } else { 64 })
            .build_cartesian_2d(0f64..100f64, 0f64..100f64)
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .x_desc("share of conv/linear layers passed (%)")
            .y_desc(format!("share of {} (%)", metric.label()))
            .x_labels(look.ticks(11))
            .y_labels(look.ticks(11))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(plot_err)?;
        for (a, pts) in list.iter().zip(&series) {
            let col = look.colour(&a.id);
            c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                .map_err(plot_err)?;
        }
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

fn sections(list: Series, metric: Metric, look: &Look) -> Result<Chart> {
    let mut rows: Vec<(usize, String, u64)> = Vec::new();
    for (i, a) in list.iter().enumerate() {
        for (name, t) in &a.sections {
            let v = if metric == Metric::Macs {
                t.macs
            } else {
                t.params
            };
            // One model: its sections alone; several: each prefixed by its model.
            let label = if list.len() == 1 {
                name.clone()
            } else {
                format!("{} {name}", a.id)
            };
            rows.push((i, label, v));
        }
    }
    let labels: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let max_raw = rows.iter().map(|r| r.2).max().unwrap_or(1) as f64;
    let (scale, suffix, decimals) = unit(max_raw);
    let max = max_raw / scale * 1.05;
    let n = rows.len() as u32;
    let title = look.title(&format!("{} per section", capital(metric.label())));
    let entries = if list.len() > 1 {
        model_entries(list, look, false)
    } else {
        Vec::new()
    };
    let label_area = labels
        .iter()
        .map(|s| s.len() as u32 * 8 + 14)
        .max()
        .unwrap_or(60)
        .min(look.frame.width / 2);
    // Rows need room for their labels: taller than the frame when there are many.
    let frame = Frame {
        height: look.frame.height.max(120 + n * (TEXT + 9)),
        ..look.frame
    };
    let look = &Look {
        frame,
        title: look.title,
        ids: look.ids,
    };
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &entries)?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0f64..max.max(0.001), (0u32..rows_range(n)).into_segmented())
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .disable_y_mesh()
            .x_desc(format!("{} ({suffix})", metric.label()))
            .x_labels(look.ticks(8))
            .x_label_formatter(&|v| format!("{v:.decimals$}"))
            .y_labels(n as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(plot_err)?;
        for (i, a) in list.iter().enumerate() {
            let col = look.colour(&a.id);
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
            .map_err(plot_err)?;
        }
        Ok(())
    })?;
    let mut alt = format!("Bars of {} per section. ", metric.label());
    let mut csv = String::from("model,section,value\n");
    for a in list {
        let parts: Vec<String> = a
            .sections
            .iter()
            .map(|(name, t)| {
                let v = if metric == Metric::Macs {
                    t.macs
                } else {
                    t.params
                };
                format!("{name} {}", si(v, 2))
            })
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

/// Places point labels so that none overlaps another or leaves the plot:
/// for each point, the first of eight spots around it that is free.
fn place_labels(
    points: &[((i32, i32), &str)],
    area: (i32, i32, i32, i32),
    char_w: f64,
    h: i32,
) -> Vec<Option<(i32, i32)>> {
    let mut taken: Vec<(i32, i32, i32, i32)> = points
        .iter()
        .map(|((x, y), _)| (x - 5, y - 5, x + 5, y + 5))
        .collect();
    let (x0, y0, x1, y1) = area;
    points
        .iter()
        .map(|((x, y), text)| {
            let w = (text.chars().count() as f64 * char_w).ceil() as i32;
            let spots = [
                (x + 7, y - h - 2),
                (x + 7, y + 3),
                (x - 7 - w, y - h - 2),
                (x - 7 - w, y + 3),
                (x - w / 2, y - h - 8),
                (x - w / 2, y + 8),
                (x + 7, y - h / 2),
                (x - 7 - w, y - h / 2),
            ];
            let free = spots.into_iter().find(|(sx, sy)| {
                let r = (*sx, *sy, sx + w, sy + h);
                r.0 >= x0
                    && r.1 >= y0
                    && r.2 <= x1
                    && r.3 <= y1
                    && taken
                        .iter()
                        .all(|t| r.2 <= t.0 || t.2 <= r.0 || r.3 <= t.1 || t.3 <= r.1)
            });
            if let Some((sx, sy)) = free {
                taken.push((sx, sy, sx + w, sy + h));
            }
            free
        })
        .collect()
}

fn scatter(list: Series, look: &Look) -> Result<Chart> {
    let px_max = list.iter().map(|a| a.total.params).max().unwrap_or(1) as f64;
    let mx_max = list.iter().map(|a| a.total.macs).max().unwrap_or(1) as f64;
    let (pscale, psuffix, pdec) = unit(px_max);
    let (mscale, msuffix, mdec) = unit(mx_max);
    let xmax = px_max / pscale * 1.12;
    let ymax = mx_max / mscale * 1.12;
    let title = look.title("Parameters against MACs");
    let mut unplaced = Vec::new();
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &[])?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(if look.frame.narrow { 56 } else { 64 })
            .build_cartesian_2d(0f64..xmax.max(0.001), 0f64..ymax.max(0.001))
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .x_desc(format!("parameters ({psuffix})"))
            .y_desc(format!("MACs ({msuffix})"))
            .x_labels(look.ticks(8))
            .y_labels(look.ticks(8))
            .x_label_formatter(&|v| format!("{v:.pdec$}"))
            .y_label_formatter(&|v| format!("{v:.mdec$}"))
            .draw()
            .map_err(plot_err)?;
        let pts: Vec<(f64, f64)> = list
            .iter()
            .map(|a| (a.total.params as f64 / pscale, a.total.macs as f64 / mscale))
            .collect();
        let pixels: Vec<((i32, i32), &str)> = pts
            .iter()
            .zip(list)
            .map(|(p, a)| (c.backend_coord(p), a.id.as_str()))
            .collect();
        let (xr, yr) = c.plotting_area().get_pixel_range();
        let spots = place_labels(
            &pixels,
            (xr.start, yr.start, xr.end, yr.end),
            TEXT as f64 * 0.806 * 0.62,
            (TEXT as f64 * 0.806) as i32 + 3,
        );
        for ((p, a), spot) in pts.iter().zip(list).zip(&spots) {
            let col = look.colour(&a.id);
            c.draw_series(std::iter::once(Circle::new(*p, 5, col.filled())))
                .map_err(plot_err)?;
            match spot {
                Some((sx, sy)) => {
                    // Spots are in the SVG's pixels; the body area draws relative to itself.
                    let (ox, oy) = body.get_base_pixel();
                    body.draw(&Text::new(a.id.clone(), (sx - ox, sy - oy), font(TEXT)))
                        .map_err(plot_err)?;
                }
                None => unplaced.push(a.id.clone()),
            }
        }
        Ok(())
    })?;
    let mut alt = String::from("Scatter of parameters (x) against MACs (y), each point named. ");
    if !unplaced.is_empty() {
        alt.push_str(&format!(
            "Points too crowded to label: {}. ",
            unplaced.join(", ")
        ));
    }
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

fn resolution(
    ledger: &Ledger,
    models: &[String],
    sizes: &[u64],
    metric: Metric,
    look: &Look,
) -> Result<Chart> {
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
    let max_raw = series
        .iter()
        .flat_map(|s| s.2.iter())
        .map(|p| p.1)
        .max()
        .unwrap_or(1) as f64;
    let (scale, suffix, decimals) = unit(max_raw);
    let xmax = *sizes.iter().max().unwrap_or(&224) as f64 * 1.05;
    let xmin = *sizes.iter().min().unwrap_or(&0) as f64 * 0.9;
    let ymax = max_raw / scale * 1.1;
    let title = look.title(&format!(
        "{} against input resolution",
        capital(metric.label())
    ));
    let entries: Vec<(String, RGBColor, bool)> = series
        .iter()
        .map(|(name, id, _)| (name.clone(), look.colour(id), true))
        .collect();
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &entries)?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(if look.frame.narrow { 56 } else { 64 })
            .build_cartesian_2d(xmin..xmax, 0f64..ymax.max(0.001))
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .x_desc("input height = width (pixels)")
            .y_desc(format!("{} ({suffix})", metric.label()))
            .x_labels(look.ticks(8))
            .y_labels(look.ticks(8))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.decimals$}"))
            .draw()
            .map_err(plot_err)?;
        for (_, id, pts) in &series {
            let col = look.colour(id);
            let p: Vec<(f64, f64)> = pts
                .iter()
                .map(|(s, v)| (*s as f64, *v as f64 / scale))
                .collect();
            c.draw_series(LineSeries::new(p.clone(), col.stroke_width(2)))
                .map_err(plot_err)?;
            c.draw_series(p.iter().map(|q| Circle::new(*q, 3, col.filled())))
                .map_err(plot_err)?;
        }
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
