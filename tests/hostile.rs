//! Hostile input, reproduced through the real binary: each case from the
//! fault-finding run gives a located error and exit 1 (or succeeds where the
//! input is valid), never a panic, an abort or a hang.

mod common;
use common::Project;

const BASE: &str = "name = \"Base\"\ninput = [3, 8, 8]\n\n[[section]]\nname = \"s\"\nlayers = [\"conv 8 k3 p1\"]\n";

fn model(layers: &str) -> String {
    format!(
        "name = \"m\"\ninput = [3, 8, 8]\n\n[[section]]\nname = \"s\"\nlayers = [\"{layers}\"]\n"
    )
}

/// A project whose `content/models/` holds only `files`.
fn models(name: &str, files: &[(&str, &str)]) -> Project {
    let p = Project::new(&format!("hostile-{name}"), &[]);
    std::fs::remove_dir_all(p.root.join("content/models")).unwrap();
    for (file, text) in files {
        p.write(&format!("content/models/{file}"), text);
    }
    p
}

/// `netledger count FILE` in the project: (exit code, stderr).
fn count(p: &Project, file: &str, extra: &[&str]) -> (i32, String) {
    let path = format!("content/models/{file}");
    let mut args = vec!["count", path.as_str()];
    args.extend_from_slice(extra);
    let (code, _, err) = p.run(&args);
    (code, err)
}

#[test]
fn deeply_nested_expressions_are_located_errors_not_aborts() {
    let parens = format!("conv {}8{} k1", "(".repeat(10_000), ")".repeat(10_000));
    let chain = format!("conv 1{} k1", "+0".repeat(30_000));
    let p = models(
        "expr",
        &[
            ("parens.toml", &model(&parens)),
            ("chain.toml", &model(&chain)),
        ],
    );
    let (code, err) = count(&p, "parens.toml", &[]);
    assert_eq!(code, 1);
    let caret = format!("  | {}^", " ".repeat(34));
    assert_eq!(
        err,
        format!(
            "error: expression nests deeper than 64 levels\n --> content/models/parens.toml:6:80\n  |\n6 | …{}…\n{caret}\n  = hint: write the value, or a shorter expression, instead\n",
            "(".repeat(100)
        )
    );
    let (code, err) = count(&p, "chain.toml", &[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(
            "error: expression nests deeper than 64 levels\n --> content/models/chain.toml:6:144\n"
        ),
        "{err}"
    );
    // The same model in a build (and so in `serve`, which shares its stack).
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: expression nests deeper than 64 levels\n"),
        "{err}"
    );
}

#[test]
fn filters_bound_their_precision() {
    for filter in ["fixed", "pct", "si"] {
        let page = format!("+++\ntitle = \"P\"\n+++\n{{{{ 1.5 | {filter}(precision=65536) }}}}\n");
        let p = Project::new(
            &format!("hostile-precision-{filter}"),
            &[("index.md", &page)],
        );
        let (code, err) = p.build(&[]);
        assert_eq!(code, 1, "{filter}: {err}");
        assert!(
            err.starts_with(
                "error: in page: `precision` must be a whole number from 0 to 20, got 65536\n --> content/index.md:4:"
            ),
            "{filter}: {err}"
        );
        assert!(!p.site().exists(), "nothing written");
    }
}

#[test]
fn tera_integers_are_numbers_wherever_numbers_are() {
    let page = "+++\ntitle = \"P\"\n+++\n[{{ macs(model=\"resnet18\", input=[3, 100+12, 224/2]) | num }}] [{{ macs(model=\"resnet18\", input=[3, 112, 112]) | num }}] [{{ macs(model=\"resnet18\") | num }}] [{{ 1.23456 | fixed(precision=1+1) }}] [{{ 1234567 | si(precision=4-1) }}]\n";
    let p = Project::new("hostile-tera-ints", &[("index.md", page)]);
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    let start = html.find("<p>[").expect("the paragraph") + 3;
    let text = &html[start..start + html[start..].find("</p>").unwrap()];
    let values: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(values.len(), 5, "{text}");
    assert_eq!(values[0], values[1], "100+12 and 224/2 are 112: {text}");
    assert_ne!(values[0], values[2], "the input was applied: {text}");
    assert_eq!(&values[3..], ["[1.23]", "[1.235M]"], "{text}");
}

#[test]
fn bench_values_are_validated_with_their_location() {
    let good = common::shipped_bench();
    // The first value of `key`, replaced by `value`.
    let set = |key: &str, value: &str| {
        let at = good.find(&format!("\"{key}\": ")).unwrap() + key.len() + 4;
        let end = at + good[at..].find([',', '\n']).unwrap();
        format!("{}{value}{}", &good[..at], &good[end..])
    };
    let cases = [
        (
            "fma_peak_gflops",
            "1.7e308",
            "a rate in GFLOP/s must be from 1e-6 to 1e7, got 1.7e308",
        ),
        (
            "median_s",
            "-1000.0",
            "a time in seconds must be from 1e-12 to 1e6, got -1000",
        ),
        (
            "median_s",
            "0",
            "a time in seconds must be from 1e-12 to 1e6, got 0",
        ),
        (
            "batch",
            "0",
            "a batch size must be from 1 to 1048576, got 0",
        ),
    ];
    for (i, (key, value, says)) in cases.into_iter().enumerate() {
        let bad = set(key, value);
        let p = Project::new(
            &format!("hostile-bench-{i}"),
            &[("index.md", "+++\ntitle = \"P\"\n+++\nx\n")],
        );
        p.write("content/data/bench.json", &bad);
        let (code, err) = p.build(&[]);
        assert_eq!(code, 1, "case {i}: {err}");
        let at = bad.find(&format!("\"{key}\": {value}")).unwrap();
        let line = bad[..at].matches('\n').count() + 1;
        assert!(
            err.starts_with(&format!(
                "error: invalid benchmark results: {says}\n --> content/data/bench.json:{line}:"
            )),
            "case {i}: {err}"
        );
    }
}

#[test]
fn a_long_extends_chain_loads_once_per_file() {
    let mut files = vec![("m0.toml".to_string(), BASE.to_string())];
    for i in 1..2000 {
        files.push((format!("m{i}.toml"), format!("extends = \"m{}\"\n", i - 1)));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = models("chain", &refs);
    let (code, out, err) = p.run(&["count", "content/models/m1999.toml", "--by", "section"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Base (m1999), input 1x3x8x8\n"), "{out}");
    assert!(out.contains("\ns             1    224 (100.0%)"), "{out}");
    let (code, out, err) = p.run(&["models", "--models", "content/models", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2001);
}

#[test]
fn extends_never_leaves_the_models_folder() {
    let outside = std::env::temp_dir().join(format!(
        "netledger-hostile-secret-{}.toml",
        std::process::id()
    ));
    std::fs::write(&outside, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let p = models(
        "extends",
        &[
            ("base.toml", BASE),
            ("up.toml", "extends = \"../../passwd\"\n"),
            ("abs.toml", "extends = \"/etc/passwd\"\n"),
            ("vialink.toml", "extends = \"link\"\n"),
        ],
    );
    std::os::unix::fs::symlink(&outside, p.root.join("content/models/link.toml")).unwrap();
    let (code, err) = count(&p, "up.toml", &[]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: `extends` must name a model in the same folder, not `../../passwd`\n --> content/models/up.toml:1:11\n  |\n1 | extends = \"../../passwd\"\n  |           ^^^^^^^^^^^^^^\n  = hint: write the base model's file name without `.toml`, e.g. `extends = \"vgg19\"`\n"
    );
    let (code, err) = count(&p, "abs.toml", &[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(
            "error: `extends` must name a model in the same folder, not `/etc/passwd`\n"
        ),
        "{err}"
    );
    let (code, err) = count(&p, "vialink.toml", &[]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: `extends = \"link\"`: content/models/link.toml is a link to a file outside content/models\n --> content/models/vialink.toml:1:11\n  |\n1 | extends = \"link\"\n  |           ^^^^^^\n  = hint: a base model must be a real file in the same folder\n"
    );
    assert!(!err.contains("root:x"), "{err}");
    let _ = std::fs::remove_file(&outside);
}

#[test]
fn a_page_slug_that_collides_with_a_model_page_is_an_error() {
    let p = Project::new(
        "hostile-slug",
        &[(
            "notes.md",
            "+++\ntitle = \"N\"\nslug = \"model-vgg11\"\n+++\nx\n",
        )],
    );
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: page slug `model-vgg11` is the name of the generated page of model `vgg11`, which would overwrite it\n  = hint: give the page another `slug` (or file name)\n --> content/notes.md\n"
    );
}

#[test]
fn a_model_file_name_that_is_not_utf8_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let p = Project::new("hostile-name", &[]);
    let name = std::ffi::OsStr::from_bytes(b"bad\xff.toml");
    std::fs::write(p.root.join("content/models").join(name), "not = [valid").unwrap();
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: a model file's name is not UTF-8; rename it\n --> content/models/bad\u{FFFD}.toml\n"
    );
}

#[test]
fn convention_and_total_overflows_name_the_layer() {
    let p = models(
        "overflow",
        &[
            ("thop.toml", "name = \"m\"\ninput = [4611686018427387904, 1, 1]\n\n[[section]]\nname = \"s\"\nlayers = [\"bn\"]\n"),
            ("sum.toml", "name = \"m\"\ninput = [4611686018427387904, 1, 1]\n\n[[section]]\nname = \"s\"\nlayers = [\"bn\", \"bn\"]\n"),
        ],
    );
    let (code, err) = count(&p, "thop.toml", &["--convention", "thop"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: thop/s/bn1: arithmetic overflow: with this layer, thop's count exceeds 64 bits\n --> content/models/thop.toml:6:12\n  |\n6 | layers = [\"bn\"]\n  |            ^^\n"
    );
    // The same file counts fine under a convention that does not overflow.
    assert_eq!(count(&p, "thop.toml", &[]).0, 0);
    let (code, err) = count(&p, "sum.toml", &[]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: sum/s/bn2: arithmetic overflow: with this layer, a model total exceeds 64 bits\n --> content/models/sum.toml:6:18\n  |\n6 | layers = [\"bn\", \"bn\"]\n  |                  ^^\n"
    );
}

#[test]
fn latex_errors_point_at_the_math_not_an_earlier_code_span() {
    let page = "+++\ntitle = \"P\"\n+++\nCode: `\\frac{a}`.\n\nMath: $\\frac{a}$.\n";
    let p = Project::new("hostile-latex", &[("index.md", page)]);
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert!(err.contains(" --> content/index.md:6:8\n"), "{err}");
}

#[test]
fn non_utf8_and_bom_files() {
    let p = Project::new("hostile-utf8", &[]);
    std::fs::write(
        p.root.join("content/index.md"),
        b"+++\ntitle = \"P\"\n+++\nx \xff y\n",
    )
    .unwrap();
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: not UTF-8 text: byte 0xFF at offset 22\n --> content/index.md:4:3\n  |\n4 | x \u{FFFD} y\n  |   ^\n  = hint: save the file as UTF-8\n"
    );
    // A byte-order mark is accepted, in pages, templates and model files alike.
    std::fs::write(
        p.root.join("content/index.md"),
        b"\xEF\xBB\xBF+++\ntitle = \"P\"\n+++\nHello.\n",
    )
    .unwrap();
    let mut model = b"\xEF\xBB\xBF".to_vec();
    model.extend_from_slice(BASE.as_bytes());
    std::fs::write(p.root.join("content/models/bom.toml"), model).unwrap();
    std::fs::create_dir_all(p.root.join("templates")).unwrap();
    std::fs::write(p.root.join("templates/extra.css"), b"\xEF\xBB\xBFp{}\n").unwrap();
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(html.contains("<p>Hello.</p>"), "{html}");
}

#[test]
fn template_errors_without_a_position_point_at_the_tag() {
    let p = Project::new(
        "hostile-templates",
        &[("index.md", "+++\ntitle = \"P\"\n+++\nx {{ 1 | nosuch }}\n")],
    );
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: in page: Unknown filter `nosuch`\n --> content/index.md:4:10\n"),
        "{err}"
    );
    p.write("content/index.md", "+++\ntitle = \"P\"\n+++\nx\n");
    p.write("templates/page.html", "\n{% extends \"page.html\" %}\n");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: template error: Circular extend detected for template 'page.html'. Inheritance chain: `[\"page.html\"]`\n --> templates/page.html:2:1\n  |\n2 | {% extends \"page.html\" %}\n  | ^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    );
}

#[test]
fn text_from_model_files_and_bench_results_is_never_markup() {
    let evil = "name = \"<script>alert(1)</script>\"\ndescription = \"<img src=x onerror=alert(2)>\"\ninput = [3, 8, 8]\n\n[[section]]\nname = \"<i>sec\"\nlayers = [\"conv 4 k1\", \"flatten\", \"linear 10\"]\n";
    let page = "+++\ntitle = \"T\"\n+++\n{{ name(model=\"evil\") }} {{ machine() }}\n\n{{ table(model=\"evil\", by=\"layer\") }} {{ table(model=\"evil\", by=\"section\") }} {{ compare(models=[\"evil\"]) }} {{ top_layers(model=\"evil\") }} {{ conventions(models=[\"evil\"]) }} {{ chart(kind=\"layers\", models=[\"evil\"], metric=\"params\") }}\n";
    let p = models("inject", &[("evil.toml", evil)]);
    p.write("content/index.md", page);
    let bench = common::shipped_bench().replacen(
        "\"cpu_model\": \"",
        "\"cpu_model\": \"<script>alert(3)</script>",
        1,
    );
    p.write("content/data/bench.json", &bench);
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let mut pages = 0;
    for (name, bytes) in common::tree(&p.site()) {
        if name.ends_with(".html") || name.ends_with(".svg") {
            pages += 1;
            let text = String::from_utf8(bytes).unwrap();
            for raw in ["<script>alert", "<img src=x", "<i>sec"] {
                assert!(!text.contains(raw), "{name} holds raw `{raw}`");
            }
        }
    }
    assert!(pages >= 3, "index, model page and a chart");
    let index = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(
        index.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
            || index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{index}"
    );
    assert!(
        index.contains("&lt;script&gt;alert(3)"),
        "machine() escaped"
    );
}
