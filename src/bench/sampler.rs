//! `netledger bench --sample-stdin`: one timed sample per request line, for
//! a peer script (`benches/compare_torch.py`) that takes its own sample of
//! the same shape between two of ours. Both sides then run within a second
//! of each other, so a noisy neighbour on a shared machine slows both, where
//! whole-suite rounds let it slow one side only.
//!
//! The protocol is text lines. netledger first writes one JSON line, the
//! [`Header`]: this machine, and the cases and networks it can sample. Each
//! line it then reads names a case or `network:MODEL`, and it answers with
//! one line: the seconds of one run (the mean of as many back-to-back runs
//! as fill [`MIN_SAMPLE_S`]). A name is prepared (operands made, one
//! warm-up run) when it differs from the previous request's; end of input
//! ends the session, and an unknown name is an error naming its line.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::error::BenchError;
use super::harness::load_average;
use super::network::Network;
use super::plan::NetworkCase;
use super::prepared::{Prepared, WeightCache};
use super::results::Machine;
use super::runner::machine;
use super::{Isa, KernelCase};

/// Shortest sample: cheap kernels run back to back until they fill it, so
/// the timer's resolution and the call overhead stay below 0.1%.
pub const MIN_SAMPLE_S: f64 = 2e-3;
/// Most runs in one sample.
const MAX_REPS: usize = 10_000;

/// The first line of a session.
#[derive(Debug, Serialize)]
pub struct Header {
    /// This machine.
    pub machine: Machine,
    /// Its key ([`Machine::key`]), which names its results files.
    pub machine_key: String,
    /// The cases a request may name.
    pub cases: Vec<CaseInfo>,
    /// The models `network:MODEL` may name, run at batch 1.
    pub networks: Vec<String>,
}

/// One case of the [`Header`].
#[derive(Debug, Serialize)]
pub struct CaseInfo {
    /// Its name, as requests give it.
    pub name: String,
    /// What it computes ([`super::Workload::describe`]).
    pub workload: String,
    /// Images (conv, pooling) or batch rows (GEMM) per run.
    pub batch: usize,
}

/// Serves one session: the header, then one answer per request, on `isa`
/// (the best one at or below it that this CPU has).
pub fn serve(
    cases: &[KernelCase],
    networks: &[NetworkCase],
    isa: Isa,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<(), BenchError> {
    let isa = isa.usable();
    let machine = machine(isa, load_average(), None, false);
    let header = Header {
        machine_key: machine.key(),
        machine,
        cases: cases
            .iter()
            .map(|c| CaseInfo {
                name: c.name.clone(),
                workload: c.workload.describe(),
                batch: c.batch,
            })
            .collect(),
        networks: networks.iter().map(|n| n.full.id.clone()).collect(),
    };
    let json = serde_json::to_string(&header).map_err(|e| io_err("stdout", e.into()))?;
    answer(out, &json)?;
    let mut requests = Requests {
        lines: input.lines(),
        line: 0,
    };
    let mut cache = WeightCache::default();
    let mut next = requests.next()?;
    while let Some((line, name)) = next.take() {
        next = if let Some(model) = name.strip_prefix("network:") {
            let case = networks
                .iter()
                .find(|n| n.full.id == model)
                .ok_or_else(|| unknown(line, &name))?;
            let mut net = Network::new(&case.full, 1, isa, true)?;
            sample(
                &name,
                &mut || net.forward(false).map(drop),
                &mut requests,
                out,
            )?
        } else {
            let case = cases
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| unknown(line, &name))?;
            let mut p = Prepared::new(case, isa, &mut cache)?;
            sample(&name, &mut || p.run(isa), &mut requests, out)?
        };
    }
    Ok(())
}

/// Request lines with their 1-based numbers; blank lines are skipped.
struct Requests<L> {
    lines: L,
    line: usize,
}

impl<L: Iterator<Item = std::io::Result<String>>> Requests<L> {
    fn next(&mut self) -> Result<Option<(usize, String)>, BenchError> {
        for text in self.lines.by_ref() {
            self.line += 1;
            let text = text.map_err(|e| io_err("stdin", e))?;
            let name = text.trim();
            if !name.is_empty() {
                return Ok(Some((self.line, name.to_string())));
            }
        }
        Ok(None)
    }
}

/// Answers the pending request for `name` and every following one for the
/// same name; returns the first request for another name.
fn sample<L: Iterator<Item = std::io::Result<String>>>(
    name: &str,
    run: &mut dyn FnMut() -> Result<(), BenchError>,
    requests: &mut Requests<L>,
    out: &mut impl Write,
) -> Result<Option<(usize, String)>, BenchError> {
    // The warm-up run also sizes the sample.
    let t0 = Instant::now();
    run()?;
    let once = t0.elapsed().as_secs_f64();
    let reps = ((MIN_SAMPLE_S / once.max(1e-9)).ceil() as usize).clamp(1, MAX_REPS);
    loop {
        let t0 = Instant::now();
        for _ in 0..reps {
            run()?;
        }
        let seconds = t0.elapsed().as_secs_f64() / reps as f64;
        answer(out, &format!("{seconds:e}"))?;
        match requests.next()? {
            Some((_, n)) if n == name => {}
            other => return Ok(other),
        }
    }
}

fn answer(out: &mut impl Write, line: &str) -> Result<(), BenchError> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| io_err("stdout", e))
}

fn io_err(stream: &str, source: std::io::Error) -> BenchError {
    BenchError::Io {
        path: PathBuf::from(stream),
        source,
    }
}

fn unknown(line: usize, name: &str) -> BenchError {
    BenchError::Request {
        line,
        message: format!("no case or network named `{name}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::demo_cases;

    fn session(input: &str) -> (Result<(), BenchError>, Vec<String>) {
        let mut out = Vec::new();
        let r = serve(
            &demo_cases(),
            &[],
            Isa::detect(),
            input.as_bytes(),
            &mut out,
        );
        let text = String::from_utf8(out).expect("utf-8");
        (r, text.lines().map(str::to_string).collect())
    }

    #[test]
    fn answers_each_request_with_one_sample_after_the_header() {
        let (r, lines) = session("resnet-head\n\nresnet-head\nvgg-conv512-14\nresnet-head\n");
        r.expect("session");
        let header: serde_json::Value = serde_json::from_str(&lines[0]).expect("header json");
        let names: Vec<&str> = header["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .map(|c| c["name"].as_str().expect("name"))
            .collect();
        let want: Vec<String> = demo_cases().into_iter().map(|c| c.name).collect();
        assert_eq!(names, want);
        assert_eq!(header["networks"], serde_json::json!([]));
        assert_eq!(
            header["machine_key"],
            crate::bench::machine_key(),
            "the key this machine's files are named by"
        );
        assert_eq!(
            header["cases"][4],
            serde_json::json!({"name": "resnet-head", "workload": "gemv 1000x512", "batch": 1})
        );
        // Four requests (the blank line is none), four answers.
        assert_eq!(lines.len(), 5, "{lines:?}");
        for l in &lines[1..] {
            let s: f64 = l.parse().expect("seconds");
            assert!(s > 0.0 && s < 10.0, "{l}");
        }
    }

    #[test]
    fn an_unknown_name_is_an_error_naming_its_line() {
        let (r, lines) = session("resnet-head\n\nno-such-case\n");
        let e = r.expect_err("unknown name");
        assert_eq!(
            e.to_string(),
            "stdin:3: no case or network named `no-such-case`"
        );
        assert_eq!(lines.len(), 2, "header and one answer: {lines:?}");
        let (r, _) = session("network:vgg19\n");
        assert_eq!(
            r.expect_err("no networks").to_string(),
            "stdin:1: no case or network named `network:vgg19`"
        );
    }
}
