//! Properties over hostile input, in-process: nothing panics, nothing
//! overflows a small stack, every case ends within a generous deadline (a
//! hang detector, not a speed goal), and successful counts add up.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

use netledger::count::analyze;
use netledger::model::expr::{Args, Expr, MAX_DEPTH};
use netledger::model::Loader;
use netledger::report::{render, BuildOptions};
use netledger::source::Source;
use proptest::prelude::*;

/// Runs `work` on a thread with a 256 KiB stack (far smaller than the 64 MiB
/// work stack) and fails if it panics or is still running after 20 s.
fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TestCaseError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(work)));
        })
        .unwrap();
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(TestCaseError::fail("panicked")),
        Err(_) => Err(TestCaseError::fail("did not finish within 20 s")),
    }
}

fn parse_eval(text: String) -> Result<u64, String> {
    let src = Source::new("p", text.as_str());
    let args: Args = [("c".to_string(), 64)].into_iter().collect();
    Expr::parse(&text, &src.span(0, text.len()))
        .and_then(|e| e.eval(&args))
        .map_err(|e| {
            assert!(e.span().is_some(), "located");
            e.render()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn nesting_is_accepted_up_to_the_limit_and_refused_beyond(depth in 0usize..20_000, chain in any::<bool>()) {
        let text = if chain {
            format!("1{}", "+1".repeat(depth))
        } else {
            format!("{}1{}", "(".repeat(depth), ")".repeat(depth))
        };
        let limit = if chain { MAX_DEPTH - 1 } else { MAX_DEPTH - 2 };
        let outcome = bounded(move || parse_eval(text))?;
        if depth <= limit {
            prop_assert_eq!(outcome, Ok(if chain { depth as u64 + 1 } else { 1 }));
        } else {
            let err = outcome.unwrap_err();
            prop_assert!(err.starts_with("error: expression nests deeper than 64 levels\n"), "{}", err);
        }
    }

    #[test]
    fn random_expressions_never_panic(text in "[-+*/()$c{}0-9 ]{0,300}") {
        bounded(move || { let _ = parse_eval(text); })?;
    }

    #[test]
    fn random_model_files_never_panic_and_add_up(
        lines in prop::collection::vec(prop::sample::select(vec![
            "name = \"m\"", "input = [3, 32, 32]", "input = [4611686018427387904, 2, 2]",
            "[[section]]", "name = \"s\"", "name = \"t\"", "extends = \"m\"", "extends = \"../x\"",
            "layers = [\"conv 8 k3 p1\", \"bn\", \"relu\"]", "layers = [\"b 4 *3\", \"linear 10\"]",
            "layers = [\"conv ((((((((8)))))))) k1\", \"maxpool k2 s2 ceil\"]",
            "[blocks.b]", "args = [\"c\"]", "body = [\"conv $c k1\", \"b $c\"]",
            "body = [\"conv $c k3 p1\"]", "merge = \"add\"", "shortcut = \"identity\"", "a = [[[[[1]]]]]",
            "\u{feff}", "layers = [\"adaptiveavgpool 1\", \"flatten\", \"linear 5\"]",
        ]), 0..14),
    ) {
        let text = lines.join("\n");
        let outcome = bounded(move || {
            let path = std::env::temp_dir().join("netledger-props-none/m.toml");
            Loader::default().load_text(&path, &text).and_then(|s| analyze(&s, None)).map_err(|e| e.render())
        })?;
        if let Ok(a) = outcome {
            let params: u64 = a.layers.iter().map(|l| l.params()).sum();
            prop_assert_eq!(params, a.total.params);
            let macs: u64 = a.layers.iter().map(|l| l.cost.macs).sum();
            prop_assert_eq!(macs, a.total.macs);
        }
    }
}

fn page_project() -> PathBuf {
    let root = std::env::temp_dir().join(format!("netledger-props-pages-{}", std::process::id()));
    if !root.join("content/models/vgg11.toml").exists() {
        std::fs::create_dir_all(root.join("content/models")).unwrap();
        std::fs::copy(
            "content/models/vgg11.toml",
            root.join("content/models/vgg11.toml"),
        )
        .unwrap();
    }
    root
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_pages_render_or_fail_cleanly(
        parts in prop::collection::vec(prop::sample::select(vec![
            "{{ params(model=\"vgg11\") | num }}", "{{ share(model=\"vgg11\", kind=\"linear\") | pct(precision=70000) }}",
            "{{ 1.5 | fixed(precision=3) }}", "{{ 1.5 | si }}", "{{ macs(model=\"vgg11\", input=[3, 100+12, 1e300]) }}",
            "{% if true %}", "{% endif %}", "{{", "}}", "{{ ((((((1)))))) }}", "$x^2$", "$$\\frac{a}{b}$$", "$\\frac{a}$",
            "`$code$`", "\n# Heading\n", "\n", "[a](b.md)", "| a | b |\n|---|---|\n| 1 | 2 |", "\u{feff}", "<b>raw</b>",
            "{{ table(model=\"vgg11\", by=\"kind\") }}", "{{ chart(kind=\"params_by_kind\", models=[\"vgg11\"]) }}",
            "{{ top_layers(model=\"vgg11\", limit=100000) }}", "{{ nosuch() }}", "{% for x in [1,2] %}{{ x }}{% endfor %}",
        ]), 0..12),
    ) {
        let root = page_project();
        let body = format!("+++\ntitle = \"P\"\n+++\n{}\n", parts.concat());
        let page = root.join("content/index.md");
        bounded(move || {
            std::fs::write(&page, body).unwrap();
            let opts = BuildOptions::new(root.join("content"), root.join("templates"), root.join("site"));
            if let Err(e) = render(&opts) {
                let _ = e.render();
            }
        })?;
    }
}
