//! Charts as standalone SVG files, drawn with plotters from numbers.
//!
//! Each chart kind is one function that gathers its data, draws it, and
//! returns a [`Chart`] with a title, a text alternative (the data in
//! words) and the CSV of what it plots. Charts take analyses and figures,
//! never the report's ledger or a page's arguments (`report::charts` turns
//! those into calls), and know nothing of pages. One file per kind.
//!
//! Every chart is drawn twice, on a [`Frame`]: wide for desktops and
//! narrow for phones (pages pick one with `<picture>`), so that text is
//! drawn at 13 px and shown at no less than 12 CSS px at either width,
//! instead of one wide image scaled down to a phone. The title and the
//! legend sit above the plot, so a legend never covers data; each model
//! keeps one colour on every chart (its place among all models).

pub mod architecture;
pub mod batch;
pub mod block;
pub mod canvas;
pub mod cumulative;
pub mod frame;
pub mod layers;
pub mod params_by_kind;
pub mod resolution;
pub mod roofline;
pub mod scatter;
pub mod sections;
pub mod stages;
pub mod structure;
pub mod style;

use plotters::prelude::RGBColor;

use crate::count::{Analysis, Kind};
pub use frame::{draw, font, head, legend, plot_err, unit, Area, Frame, Look, NARROW, TEXT, WIDE};
pub(crate) use frame::{rows_range, styled_mesh};

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

#[derive(Clone, Copy, PartialEq)]
pub enum Metric {
    /// Parameters.
    Params,
    /// Multiply-accumulates.
    Macs,
    /// MACs per parameter: how often each weight is used (layers chart only).
    Reuse,
}

impl Metric {
    /// Parses a page's `metric=`.
    pub fn parse(m: Option<&str>) -> std::result::Result<Metric, String> {
        match m.unwrap_or("params") {
            "params" => Ok(Metric::Params),
            "macs" => Ok(Metric::Macs),
            "reuse" => Ok(Metric::Reuse),
            other => Err(format!(
                "unknown metric `{other}` (use \"params\", \"macs\", or \"reuse\" for the layers chart)"
            )),
        }
    }
    /// In words, e.g. `parameters`.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Params => "parameters",
            Metric::Macs => "MACs",
            Metric::Reuse => "MACs per parameter",
        }
    }
    /// In file names.
    pub fn slug(self) -> &'static str {
        match self {
            Metric::Params => "params",
            Metric::Macs => "macs",
            Metric::Reuse => "reuse",
        }
    }
    /// Its value for one layer.
    pub fn of_layer(self, l: &crate::count::Layer) -> u64 {
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

/// A chart whose file name `render` fills in.
pub(crate) fn chart(title: String, alt: String, svg: String, csv: String) -> Chart {
    Chart {
        file: String::new(),
        title,
        alt,
        svg,
        svg_narrow: String::new(),
        csv,
    }
}

/// The data of one chart, as the alt text and CSV describe it.
pub type Series<'a> = &'a [std::sync::Arc<Analysis>];

/// Conv and linear layers in order, with their metric.
pub(crate) fn weighted(a: &Analysis, metric: Metric) -> Vec<(&str, u64)> {
    a.layers
        .iter()
        .filter(|l| matches!(l.op.kind(), Kind::Conv | Kind::Linear))
        .map(|l| (l.local_path(), metric.of_layer(l)))
        .collect()
}

/// One legend entry per model, in its site-wide colour.
pub(crate) fn model_entries(
    list: Series,
    look: &Look,
    line: bool,
) -> Vec<(String, RGBColor, bool)> {
    list.iter()
        .map(|a| (a.name.clone(), look.colour(&a.id), line))
        .collect()
}

pub(crate) fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}
