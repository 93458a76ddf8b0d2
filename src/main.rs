//! The `netledger` command line: parses arguments and calls the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use netledger::catalog::Model;
use netledger::config::Project;
use netledger::count::output::{self, By};
use netledger::count::Convention;
use netledger::{Error, Result};

#[derive(Parser)]
#[command(
    name = "netledger",
    version,
    about = "Exact CNN ledgers, literate reports and measured kernels"
)]
struct Cli {
    /// The project folder: where netledger.toml is read, and what default paths are relative to.
    #[arg(long, global = true, default_value = ".")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

/// Where a build reads and writes (flags override netledger.toml).
#[derive(clap::Args)]
struct SiteArgs {
    /// Pages, models/, data/ and static/ [default: content].
    #[arg(long)]
    content: Option<PathBuf>,
    /// Template overrides; built-ins are used for missing files [default: templates].
    #[arg(long)]
    templates: Option<PathBuf>,
    /// Output folder, replaced in one swap when the build succeeds [default: site].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace --out even if it is a non-empty folder that netledger did not write.
    #[arg(long)]
    force: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Start a course: netledger.toml, one page, one model, an empty static/.
    Init {
        /// The folder to create (must be missing or empty).
        dir: PathBuf,
    },
    /// Count one model: per layer, per section or per kind.
    Count {
        /// A model name (content/models/NAME.toml or NAME.onnx) or a path to a .toml or .onnx file.
        model: String,
        /// Input shape without the batch, e.g. 3x224x224.
        #[arg(long, value_parser = parse_shape)]
        input: Option<InputShape>,
        /// Rows of the table or CSV.
        #[arg(long, value_enum, default_value = "layer")]
        by: ByArg,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Whose "FLOPs" to reproduce next to the core MACs.
        #[arg(long, value_enum, default_value = "torchvision")]
        convention: ConventionArg,
        /// Folder of model files [default: CONTENT/models].
        #[arg(long)]
        models: Option<PathBuf>,
        /// Allow an --input whose channel count changes some layer's parameters.
        #[arg(long)]
        allow_channels: bool,
    },
    /// Build the static site from content/ and templates/ into site/.
    Build {
        #[command(flatten)]
        site: SiteArgs,
        /// Print nothing on success.
        #[arg(short, long, conflicts_with = "verbose")]
        quiet: bool,
        /// Print one line per file written.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Build in memory and report errors and warnings; writes nothing.
    Check {
        #[command(flatten)]
        site: SiteArgs,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        strict: bool,
    },
    /// Measure this machine's ceilings and the models' real layer kernels.
    Bench {
        /// Short budgets (the whole run takes well under a minute).
        #[arg(long)]
        quick: bool,
        /// Only cases whose name or layer path contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Where to write the results [default: CONTENT/data/bench/MACHINE.json, this machine's own file].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Folder of model files (shapes come from vgg19, resnet34, resnet50) [default: CONTENT/models].
        #[arg(long)]
        models: Option<PathBuf>,
        /// Models to run end to end, comma-separated ("none" for none) [default: vgg19,resnet34; none with --filter].
        #[arg(long)]
        network: Option<String>,
        /// Instruction set of the kernels: avx512, avx2 or portable [default: the best this CPU has].
        #[arg(long, value_parser = parse_isa)]
        isa: Option<netledger::bench::Isa>,
        /// Measure nothing up front: write a JSON header line, then time one sample per case name (or network:MODEL) read from stdin, for peer scripts such as benches/compare_torch.py.
        #[arg(long, conflicts_with_all = ["quick", "filter", "out"])]
        sample_stdin: bool,
        /// Pin the run to this CPU (recorded in the results): on a shared host, CPUs can differ in speed for minutes.
        #[arg(long)]
        cpu: Option<usize>,
    },
    /// Build, serve on loopback, rebuild on change and reload open pages.
    Serve {
        #[command(flatten)]
        site: SiteArgs,
        /// Address to listen on (loopback by default; port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8000")]
        address: String,
        /// Allow an --address that is not loopback (other machines can then read the site).
        #[arg(long)]
        allow_remote: bool,
    },
    /// Compare two models layer by layer: added, removed and changed layers.
    Diff {
        /// A model name or a path to a .toml or .onnx file.
        a: String,
        /// Another model name or path.
        b: String,
        /// Input shape without the batch, for both models.
        #[arg(long, value_parser = parse_shape)]
        input: Option<InputShape>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Folder of model files [default: CONTENT/models].
        #[arg(long)]
        models: Option<PathBuf>,
    },
    /// List every model with its totals.
    Models {
        /// Folder of model files [default: CONTENT/models].
        #[arg(long)]
        models: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ByArg {
    Layer,
    Section,
    Kind,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, ValueEnum)]
enum ConventionArg {
    Torchvision,
    Fvcore,
    Ptflops,
    PtflopsDefault,
    Thop,
}

impl From<ConventionArg> for Convention {
    fn from(c: ConventionArg) -> Self {
        match c {
            ConventionArg::Torchvision => Convention::Torchvision,
            ConventionArg::Fvcore => Convention::Fvcore,
            ConventionArg::Ptflops => Convention::Ptflops,
            ConventionArg::PtflopsDefault => Convention::PtflopsDefault,
            ConventionArg::Thop => Convention::Thop,
        }
    }
}

/// An input shape given on the command line, e.g. `3x224x224`.
#[derive(Clone, Debug)]
struct InputShape(Vec<u64>);

fn parse_shape(text: &str) -> std::result::Result<InputShape, String> {
    let dims: std::result::Result<Vec<u64>, _> = text
        .split(['x', 'X', ','])
        .map(|d| d.trim().parse::<u64>())
        .collect();
    match dims {
        Ok(d) if !d.is_empty() && d.iter().all(|&v| v > 0) => Ok(InputShape(d)),
        _ => Err(format!(
            "`{text}` is not a shape like 3x224x224 (positive integers)"
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match netledger::with_work_stack(move || run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprint!("{}", err.render());
            ExitCode::from(if matches!(err, Error::Usage(_)) { 2 } else { 1 })
        }
    }
}

/// Writes to stdout, ignoring a closed pipe (`netledger count x | head`).
fn emit(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// The build options of a project: flags, else netledger.toml, else defaults.
fn build_options(project: &Project, args: SiteArgs) -> netledger::report::BuildOptions {
    let c = &project.config;
    netledger::report::BuildOptions {
        content: project.path(args.content, &c.content, "content"),
        templates: project.path(args.templates, &c.templates, "templates"),
        out: project.path(args.out, &c.out, "site"),
        force: args.force,
        site: c.site(),
        model_pages: c.model_pages.clone(),
        chapters: project.chapters(),
        input: c.input(),
    }
}

fn run(cli: Cli) -> Result<()> {
    let project = Project::open(&cli.root)?;
    let default_input = project.config.input();
    let models_dir = |flag: Option<PathBuf>| {
        flag.unwrap_or_else(|| {
            project
                .path(None, &project.config.content, "content")
                .join("models")
        })
    };
    match cli.command {
        Command::Init { dir } => {
            netledger::init::init(&dir)?;
            eprintln!(
                "created a course in {d}: `cd {d} && netledger build`, then open site/index.html",
                d = dir.display()
            );
            Ok(())
        }
        Command::Check { site, strict } => {
            let opts = build_options(&project, site);
            let (files, summary) = netledger::report::render(&opts)?;
            for w in &summary.warnings {
                eprintln!("warning: {w}");
            }
            eprintln!(
                "checked {} pages and {} model pages ({} files, internal links and anchors resolved): {} warnings",
                summary.pages,
                summary.models,
                files.len(),
                summary.warnings.len()
            );
            if strict && !summary.warnings.is_empty() {
                return Err(Error::Render {
                    message: format!("{} warnings, and --strict", summary.warnings.len()),
                    span: None,
                    location: None,
                });
            }
            Ok(())
        }
        Command::Count {
            model,
            input,
            by,
            format,
            convention,
            models,
            allow_channels,
        } => {
            let model = Model::load_with(&model, &models_dir(models), default_input.as_deref())?;
            if let (Some(input), false, Some(spec)) = (&input, allow_channels, model.spec()) {
                netledger::count::check_input_channels(spec, &input.0)?;
            }
            let analysis = model.analyze(input.as_ref().map(|s| s.0.as_slice()))?;
            let by = match by {
                ByArg::Layer => By::Layer,
                ByArg::Section => By::Section,
                ByArg::Kind => By::Kind,
            };
            emit(&match format {
                Format::Table => output::table(&analysis, by, convention.into())?,
                Format::Json => output::json(&analysis, convention.into())?,
                Format::Csv => output::csv(&analysis, by),
            });
            Ok(())
        }
        Command::Diff {
            a,
            b,
            input,
            format,
            models,
        } => {
            let dir = models_dir(models);
            let input = input.as_ref().map(|s| s.0.as_slice());
            let a = Model::load_with(&a, &dir, default_input.as_deref())?.analyze(input)?;
            let b = Model::load_with(&b, &dir, default_input.as_deref())?.analyze(input)?;
            let d = netledger::count::diff::diff(&a, &b);
            emit(&match format {
                Format::Table => d.table(),
                Format::Json => d.json(),
                Format::Csv => d.csv(),
            });
            Ok(())
        }
        Command::Models { models, format } => {
            list_models(&models_dir(models), default_input.as_deref(), format)
        }
        Command::Bench {
            quick,
            filter,
            out,
            models,
            network,
            isa,
            sample_stdin,
            cpu,
        } => {
            if let Some(cpu) = cpu {
                netledger::bench::harness::pin_to_cpu(cpu)?;
            }
            let content = project.path(None, &project.config.content, "content");
            let network = network.unwrap_or_else(|| match filter {
                Some(_) => "none".into(),
                None => "vgg19,resnet34".into(),
            });
            bench(
                BenchArgs {
                    quick,
                    filter,
                    out,
                    network,
                    isa,
                    sample_stdin,
                },
                &content,
                &models_dir(models),
                default_input.as_deref(),
            )
        }
        Command::Serve {
            site,
            address,
            allow_remote,
        } => netledger::serve::serve(&netledger::serve::ServeOptions {
            build: build_options(&project, site),
            address,
            allow_remote,
            poll: std::time::Duration::from_millis(400),
        }),
        Command::Build {
            site,
            quiet,
            verbose,
        } => {
            let started = std::time::Instant::now();
            let opts = build_options(&project, site);
            let out = opts.out.clone();
            let summary = netledger::report::build(&opts)?;
            if !quiet {
                for w in &summary.warnings {
                    eprintln!("warning: {w}");
                }
            }
            if verbose {
                for (name, bytes) in &summary.written {
                    let kept = if summary.unchanged.contains(name) {
                        ", unchanged"
                    } else {
                        ""
                    };
                    eprintln!("  {}/{name} ({bytes} B{kept})", out.display());
                }
            }
            if !quiet {
                eprintln!(
                    "built {} pages, {} model pages and {} charts into {} ({} files, {} KB, {} unchanged) in {} ms",
                    summary.pages,
                    summary.models,
                    summary.charts,
                    out.display(),
                    summary.files,
                    summary.bytes / 1024,
                    summary.unchanged.len(),
                    started.elapsed().as_millis()
                );
            }
            Ok(())
        }
    }
}

fn list_models(dir: &Path, default_input: Option<&[u64]>, format: Format) -> Result<()> {
    let rows = netledger::catalog::load_all_with(dir, default_input)?
        .values()
        .map(|m| m.analyze(None))
        .collect::<Result<Vec<_>>>()?;
    if rows.is_empty() {
        return Err(Error::Render {
            message: format!("no model files (*.toml, *.onnx) in {}", dir.display()),
            span: None,
            location: None,
        });
    }
    emit(&match format {
        Format::Table => output::models_table(&rows),
        Format::Json => output::models_json(&rows),
        Format::Csv => output::models_csv(&rows),
    });
    Ok(())
}

/// The `bench` verb's own flags.
struct BenchArgs {
    quick: bool,
    filter: Option<String>,
    out: Option<PathBuf>,
    network: String,
    isa: Option<netledger::bench::Isa>,
    sample_stdin: bool,
}

/// An `--isa` value.
fn parse_isa(s: &str) -> std::result::Result<netledger::bench::Isa, String> {
    netledger::bench::Isa::parse(s)
        .ok_or_else(|| format!("unknown instruction set `{s}` (avx512, avx2, portable)"))
}

/// Runs the benchmarks; writes `out`, or by default this machine's own file
/// in `CONTENT/data/bench/` (other machines' files are left alone).
fn bench(
    BenchArgs {
        quick,
        filter,
        out,
        network,
        isa,
        sample_stdin,
    }: BenchArgs,
    content: &Path,
    models: &Path,
    default_input: Option<&[u64]>,
) -> Result<()> {
    use std::io::IsTerminal;
    let opts = netledger::bench::BenchOptions {
        quick,
        filter,
        progress: std::io::stderr().is_terminal(),
        isa,
    };
    let out = out.unwrap_or_else(|| {
        netledger::report::measured::machine_file(content, &netledger::bench::machine_key())
    });
    // The plan takes the counted models, from model files or ONNX graphs.
    let analysis = |name: &str| Model::load_with(name, models, default_input)?.analyze(None);
    let planned = netledger::bench::plan::cases(
        &analysis("vgg19")?,
        &analysis("resnet34")?,
        &analysis("resnet50")?,
    );
    let networks = network
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "none")
        .map(|name| {
            let model = Model::load_with(name, models, default_input)?;
            let full = model.analyze(None)?;
            // The scalar check runs at 32x32 where the model allows it.
            let small = match full.input[..] {
                [c, h, w] if h > 32 && w > 32 => model.analyze(Some(&[c, 32, 32])).ok(),
                _ => None,
            };
            let small = small.unwrap_or_else(|| full.clone());
            Ok(netledger::bench::plan::NetworkCase { full, small })
        })
        .collect::<Result<Vec<_>>>()?;
    if sample_stdin {
        let isa = isa.unwrap_or_else(netledger::bench::Isa::detect);
        let stdin = std::io::stdin().lock();
        netledger::bench::sampler::serve(&planned, &networks, isa, stdin, &mut std::io::stdout())?;
        return Ok(());
    }
    let report = netledger::bench::plan::measure(&planned, &networks, &opts, &out)?;
    emit(&netledger::bench::summary_table(&report));
    eprintln!("wrote {}", out.display());
    Ok(())
}
