//! Charts as pages ask for them: `chart(kind=..., models=..., metric=...)`
//! turned into numbers from the ledger and a call of the chart kind.

use serde::Deserialize;

use crate::chart::{
    architecture, block, cumulative, layers, params_by_kind, resolution, scatter, sections, stages,
    style, Chart, Frame, Look, Metric, NARROW, WIDE,
};
use crate::error::{Error, Result};
use crate::report::ledger::Ledger;

fn arg_err(message: String) -> Error {
    Error::Render {
        message,
        span: None,
        location: None,
    }
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
    /// The block a `block` diagram draws, e.g. `stage1/block1`.
    pub block: Option<String>,
    /// Overrides the default title.
    pub title: Option<String>,
}

/// Chart kinds, for messages.
pub const KINDS: &str = "params_by_kind, layers, cumulative, sections, scatter, resolution, block, stages, architecture";

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
    let metric = Metric::parse(args.metric.as_deref()).map_err(arg_err)?;
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
    let colours = ledger.colours();
    // Resolution curves: each model counted at each size.
    let mut curves: Vec<resolution::Curve> = Vec::new();
    if args.kind == "resolution" {
        for m in &models {
            let mut pts = Vec::new();
            for &s in &sizes {
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
            curves.push((ledger.analysis(m, None)?.name.clone(), m.clone(), pts));
        }
    }
    let draw_on = |frame: Frame| -> Result<Chart> {
        let look = Look {
            frame,
            title: args.title.as_deref(),
            colours: &colours,
        };
        match args.kind.as_str() {
            "params_by_kind" => params_by_kind::params_by_kind(&list, &look),
            "layers" => layers::layers(&list, metric, &look),
            "cumulative" => cumulative::cumulative(&list, metric, &look),
            "sections" => sections::sections(&list, metric, &look),
            "scatter" => scatter::scatter(&list, &look),
            "resolution" => resolution::resolution(&curves, &sizes, metric, &look),
            "stages" => stages::stages(&list, &look),
            "architecture" => match &list[..] {
                [a] => architecture::architecture(a, &look),
                _ => Err(arg_err(
                    "kind=\"architecture\" draws one model: give `models` one name".into(),
                )),
            },
            "block" => {
                let path = args.block.as_deref().ok_or_else(|| {
                    arg_err("kind=\"block\" needs `block`, the block's path, e.g. block=\"stage1/block1\"".into())
                })?;
                block::block(&list, path, &look)
            }
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
    if let Some(path) = &args.block {
        name = format!("{name}-{}", path.replace('/', "-"));
    }
    if args.models.is_some() {
        name = format!("{name}-{}", models.join("-"));
    }
    chart.file = format!("{name}.svg");
    chart.svg = style::finish(&chart.svg, &chart.title, &chart.alt);
    chart.svg_narrow = style::finish(&chart.svg_narrow, &chart.title, &chart.alt);
    Ok(chart)
}
