//! The site builder: output, determinism, and bad input that leaves the last good site intact.

mod common;
use common::{tree, Project};

const GOOD: &str = "+++\ntitle = \"Notes\"\n+++\nVGG-11 has {{ params(model=\"vgg11\") | num }} parameters.\n\n## Part one\n\n{{ table(model=\"resnet18\", by=\"section\") }}\n\n{{ chart(kind=\"params_by_kind\") }}\n";
const CHAPTER: &str = "+++\ntitle = \"Chapter\"\nweight = 1\n+++\n## Math\n\n$$k^2 C$$\n\nRatio {{ ratio(a=\"vgg11\", b=\"resnet18\") | fixed(precision=2) }}.\n";

#[test]
fn builds_pages_model_pages_charts_and_downloads() {
    let p = Project::new("good", &[("index.md", GOOD), ("chapter.md", CHAPTER)]);
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let files = tree(&p.site());
    for f in [
        "index.html",
        "chapter.html",
        "model-vgg11.html",
        "model-resnet18.html",
        "style.css",
        "charts/params-by-kind.svg",
        "data/resnet18-by-section.csv",
        "data/model-resnet18.json",
        "models/vgg11.toml",
    ] {
        assert!(
            files.contains_key(f),
            "missing {f}: {:?}",
            files.keys().collect::<Vec<_>>()
        );
    }
    let index = String::from_utf8(files["index.html"].clone()).unwrap();
    assert!(
        index.contains("VGG-11 has 132,863,336 parameters."),
        "{index}"
    );
    assert!(index.contains("href=\"data/resnet18-by-section.csv\""));
    assert!(index.contains("<img src=\"charts/params-by-kind.svg\" alt=\"Stacked bars"));
    assert!(index.contains("href=\"model-resnet18.html\""));
    assert_eq!(index.matches("<h1").count(), 1);
    let model = String::from_utf8(files["model-resnet18.html"].clone()).unwrap();
    assert!(
        model.contains("href=\"data/conventions-resnet18.csv\""),
        "conventions table on model pages"
    );
    let conventions = String::from_utf8(files["data/conventions-resnet18.csv"].clone()).unwrap();
    assert!(
        conventions.contains(",1819065856,"),
        "fvcore's exact total for ResNet-18: {conventions}"
    );
    assert!(
        !files.contains_key("data/resnet18-by-layer.json")
            && !files.contains_key("data/resnet18-by-section.json"),
        "one JSON per model, whichever table links it"
    );
    assert!(index.contains("href=\"data/model-resnet18.json\""));
    let chapter = String::from_utf8(files["chapter.html"].clone()).unwrap();
    assert!(
        chapter.contains("<math display=\"block\""),
        "math rendered at build time"
    );
    assert!(chapter.contains("Ratio 11.37."), "{chapter}");
    assert!(chapter.contains("rel=\"prev\""), "pager");
    let svg = String::from_utf8(files["charts/params-by-kind.svg"].clone()).unwrap();
    assert!(svg.contains("<title>Parameters by kind of layer</title>"));
    let csv = String::from_utf8(files["data/resnet18-by-section.csv"].clone()).unwrap();
    assert!(csv.starts_with("name,layers,params"), "{csv}");
    assert!(csv.contains("head,3,513000"), "{csv}");
    for (name, bytes) in &files {
        if name.ends_with(".html") {
            let html = String::from_utf8_lossy(bytes);
            assert!(
                !html.contains("http://") && !html.contains("https://"),
                "{name} links outside"
            );
        }
    }
}

#[test]
fn two_builds_are_byte_identical() {
    let p = Project::new("twice", &[("index.md", GOOD), ("chapter.md", CHAPTER)]);
    assert_eq!(p.build(&[]).0, 0);
    let first = tree(&p.site());
    assert_eq!(p.build(&["--out", "again"]).0, 0);
    let second = tree(&p.root.join("again"));
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &first {
        assert!(second[name] == *bytes, "{name} differs between builds");
    }
}

/// Builds a good site, breaks the input, and checks: exit 1, message, site untouched.
fn assert_rejected(name: &str, breakage: impl FnOnce(&Project), extra: &[&str], expect: &[&str]) {
    let p = Project::new(name, &[("index.md", GOOD), ("chapter.md", CHAPTER)]);
    assert_eq!(p.build(&[]).0, 0);
    let before = tree(&p.site());
    breakage(&p);
    let (code, err) = p.build(extra);
    assert_eq!(code, 1, "{name}: {err}");
    for e in expect {
        assert!(err.contains(e), "{name}: expected `{e}` in:\n{err}");
    }
    assert_eq!(tree(&p.site()), before, "{name}: site changed");
    let leftovers: Vec<_> = std::fs::read_dir(&p.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".site"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "{name}: temporary folders left: {leftovers:?}"
    );
}

#[test]
fn bad_front_matter_names_file_and_line() {
    assert_rejected(
        "front",
        |p| {
            p.write(
                "content/chapter.md",
                "+++\ntitle = \"C\"\nwieght = 2\n+++\nbody\n",
            )
        },
        &[],
        &["content/chapter.md:3:1", "unknown field `wieght`"],
    );
}

#[test]
fn unknown_model_in_a_page_names_the_line() {
    assert_rejected(
        "model",
        |p| {
            p.write(
                "content/chapter.md",
                "+++\ntitle = \"C\"\n+++\nfirst\n\n{{ params(model=\"vgg99\") }}\n",
            )
        },
        &[],
        &[
            "content/chapter.md:6:4",
            "unknown model `vgg99`",
            "known models: resnet18, vgg11",
        ],
    );
}

#[test]
fn unknown_function_and_argument_name_the_line() {
    assert_rejected(
        "function",
        |p| {
            p.write(
                "content/chapter.md",
                "+++\ntitle = \"C\"\n+++\n{{ weights(model=\"vgg11\") }}\n",
            )
        },
        &[],
        &["content/chapter.md:4:4", "Unknown function `weights`"],
    );
    assert_rejected(
        "argument",
        |p| {
            p.write(
                "content/chapter.md",
                "+++\ntitle = \"C\"\n+++\n\n{{ share(model=\"vgg11\", knd=\"conv\") }}\n",
            )
        },
        &[],
        &["content/chapter.md:5:4", "unknown field `knd`"],
    );
    assert_rejected(
        "chartkind",
        |p| {
            p.write(
                "content/chapter.md",
                "+++\ntitle = \"C\"\n+++\n{{ chart(kind=\"pie\") }}\n",
            )
        },
        &[],
        &["content/chapter.md:4:4", "unknown chart kind `pie`"],
    );
}

#[test]
fn template_errors_name_the_template_file() {
    assert_rejected(
        "template",
        |p| {
            p.write("templates/page.html", "{% extends \"base.html\" %}\n{% block main %}\n{{ content | safe }\n{% endblock %}\n")
        },
        &[],
        &["templates/page.html:3:"],
    );
}

#[test]
fn a_broken_model_file_stops_the_build() {
    assert_rejected(
        "modelfile",
        |p| {
            p.write("content/models/vgg11.toml", "name = \"x\"\ninput = [3, 224, 224]\n[[section]]\nname = \"a\"\nlayers = [\"conv 64 k3 q1\"]\n")
        },
        &[],
        &["content/models/vgg11.toml:5:23", "unexpected `q1`"],
    );
}

#[test]
fn bad_latex_names_the_line() {
    assert_rejected(
        "latex",
        |p| {
            p.write(
                "content/chapter.md",
                "+++\ntitle = \"C\"\n+++\none\n\nsee $\\frac{a}$ here\n",
            )
        },
        &[],
        &["content/chapter.md:6:6", "invalid LaTeX"],
    );
}

#[test]
fn unwritable_output_is_an_error_and_nothing_is_written() {
    let p = Project::new("unwritable", &[("index.md", GOOD)]);
    p.write("blocker", "a file where a folder should be");
    let (code, err) = p.build(&["--out", "blocker/site"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("blocker"), "{err}");
    let (code, err) = p.build(&["--out", "blocker"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a folder"), "{err}");
    assert_eq!(
        std::fs::read_to_string(p.root.join("blocker")).unwrap(),
        "a file where a folder should be"
    );
}

#[test]
fn missing_content_folder_is_an_error() {
    let p = Project::new("nocontent", &[]);
    let (code, err) = p.build(&["--content", "nowhere"]);
    assert_eq!(code, 1);
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn templates_override_built_ins_file_by_file() {
    let p = Project::new("override", &[("index.md", GOOD)]);
    p.write("templates/style.css", "body { color: red }\n");
    assert_eq!(p.build(&[]).0, 0);
    assert_eq!(
        std::fs::read_to_string(p.site().join("style.css")).unwrap(),
        "body { color: red }\n"
    );
    assert!(std::fs::read_to_string(p.site().join("index.html"))
        .unwrap()
        .contains("<nav class=\"side\""));
}

const MEASURED: &str = "+++\ntitle = \"M\"\nweight = 2\n+++\n{% if measured() %}Peak {{ ceiling(name=\"fma_peak_gflops\") | fixed(precision=1) }}{% else %}Not measured yet{% endif %}\n";

#[test]
fn without_bench_results_the_page_says_not_measured() {
    let p = Project::new("nobench", &[("index.md", GOOD), ("m.md", MEASURED)]);
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let page = std::fs::read_to_string(p.site().join("m.html")).unwrap();
    assert!(page.contains("Not measured yet"), "{page}");
}

#[test]
fn cached_bench_results_are_read_not_measured() {
    let p = Project::new("bench", &[("index.md", GOOD), ("m.md", MEASURED)]);
    let json = common::shipped_bench();
    p.write("content/data/bench.json", &json);
    assert_eq!(p.build(&[]).0, 0);
    let peak: serde_json::Value = serde_json::from_str(&json).unwrap();
    let want = format!(
        "Peak {:.1}",
        peak["ceilings"]["fma_peak_gflops"].as_f64().unwrap()
    );
    assert!(std::fs::read_to_string(p.site().join("m.html"))
        .unwrap()
        .contains(&want));
}

#[test]
fn corrupt_or_old_bench_results_name_the_file() {
    assert_rejected(
        "benchcorrupt",
        |p| {
            p.write(
                "content/data/bench.json",
                "{\n  \"schema\": 1,\n  \"machine\": [\n",
            )
        },
        &[],
        &["content/data/bench.json:"],
    );
    assert_rejected(
        "benchold",
        |p| {
            let json = common::shipped_bench();
            p.write(
                "content/data/bench.json",
                &json.replacen("\"schema\": 1", "\"schema\": 0", 1),
            );
        },
        &[],
        &["content/data/bench.json", "schema"],
    );
}

#[test]
fn bench_functions_without_results_are_located_errors() {
    assert_rejected(
        "benchmissing",
        |p| {
            p.write(
                "content/chapter.md",
                "+++\ntitle = \"C\"\n+++\n{{ roofline(models=[\"vgg11\"]) }}\n",
            )
        },
        &[],
        &["content/chapter.md:4:4", "run `netledger bench`"],
    );
}

#[test]
fn ratios_are_rounded_and_captions_state_the_real_input() {
    let page = "+++\ntitle = \"P\"\n+++\n{{ table(model=\"vgg11\", by=\"layer\") }}\n\n{{ compare(models=[\"vgg11\", \"tiny\"]) }}\n";
    let p = Project::new("ratios", &[("index.md", page)]);
    p.write(
        "content/models/tiny.toml",
        "name = \"Tiny\"\ninput = [1, 28, 28]\n\n[[section]]\nname = \"s\"\nlayers = [\"flatten\", \"linear 10\"]\n",
    );
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    // fc6: 102,760,448 MACs over 102,764,544 params is 0.99996, not 0.
    assert!(
        html.contains("<td class=\"num\">102,760,448</td><td class=\"num\">1.00</td>"),
        "{html}"
    );
    // stage3/conv2: 1,849,688,064 / 590,080 = 3134.6, rounded.
    assert!(html.contains("<td class=\"num\">590,080</td><td class=\"num\">0.4%</td><td class=\"num\">1,849,688,064</td><td class=\"num\">3,135</td>"), "{html}");
    assert!(
        html.contains("Models side by side (each at its declared input, batch 1)"),
        "{html}"
    );
    assert!(
        html.contains("<td>1x28x28</td>"),
        "the index's model list names each input: {html}"
    );
}

#[test]
fn model_pages_fold_their_layers_by_section() {
    let p = Project::new("fold", &[("index.md", "+++\ntitle = \"P\"\n+++\nx\n")]);
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("model-resnet18.html")).unwrap();
    let summaries: Vec<&str> = html
        .match_indices("<details class=\"section-layers\"><summary><strong>")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            &rest[..rest.find("</strong>").unwrap()]
        })
        .collect();
    assert_eq!(
        summaries,
        ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    );
    assert!(html.contains("<summary><strong>head</strong>: 3 layers, 513,000 params (4.4%), 512,000 MACs</summary>"), "{html}");
    assert!(html.contains("<a href=\"data/resnet18-by-layer.csv\" download>CSV</a>"));
    assert!(p.site().join("data/resnet18-by-layer.csv").is_file());
}
