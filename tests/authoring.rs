//! Mistakes an author makes that must not publish silently.

mod common;
use common::Project;

#[test]
fn a_variant_section_missing_from_the_base_is_an_error_unless_appended() {
    let p = Project::new("author-sections", &[]);
    p.write(
        "content/models/typo.toml",
        "extends = \"vgg11\"\n\n[[section]]\nname = \"hed\"\nlayers = [\"linear 10\"]\n",
    );
    let (code, _, err) = p.run(&["count", "content/models/typo.toml"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: base `vgg11` has no section `hed` to replace (its sections: stage1, stage2, stage3, stage4, stage5, head)\n --> content/models/typo.toml:4:8\n  |\n4 | name = \"hed\"\n  |        ^^^^^\n  = hint: fix the name, or add `append = true` to add it as a new section after the base's\n"
    );
    p.write(
        "content/models/typo.toml",
        "extends = \"vgg11\"\n\n[[section]]\nname = \"extra\"\nappend = true\nlayers = [\"linear 10\"]\n",
    );
    let (code, out, err) = p.run(&[
        "count",
        "content/models/typo.toml",
        "--by",
        "section",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().last().unwrap(),
        "extra,1,10010,0.000075,0,10000,0.000001,20010,0.000001"
    );
    p.write(
        "content/models/typo.toml",
        "extends = \"vgg11\"\n\n[[section]]\nname = \"head\"\nappend = true\nlayers = [\"linear 10\"]\n",
    );
    let (code, _, err) = p.run(&["count", "content/models/typo.toml"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: `append = true`, but base `vgg11` already has a section `head`\n --> content/models/typo.toml:4:8\n"), "{err}");
}

#[test]
fn an_unbalanced_dollar_is_an_error_and_an_escaped_one_is_text() {
    let p = Project::new(
        "author-dollar",
        &[("index.md", "+++\ntitle = \"P\"\n+++\nIt costs $5.\n")],
    );
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: unbalanced `$`: this opens math that never closes\n --> content/index.md:4:10\n  |\n4 | It costs $5.\n  |          ^\n  = hint: close the math with a matching `$` (or `$$`), or write `\\$` for a dollar sign\n"
    );
    p.write("content/index.md", "+++\ntitle = \"P\"\n+++\nIt costs \\$5, and `$x` is code.\n\n```sh\n$ ls\n```\n\n$$\nk^2\n");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1, "the unclosed $$ block: {err}");
    assert!(err.contains(" --> content/index.md:10:1\n"), "{err}");
    p.write(
        "content/index.md",
        "+++\ntitle = \"P\"\n+++\nIt costs \\$5, and `$x` is code.\n\n```sh\n$ ls\n```\n",
    );
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(
        html.contains("<p>It costs $5, and <code>$x</code> is code.</p>"),
        "{html}"
    );
}

#[test]
fn pages_without_weight_come_after_the_weighted_ones_by_file_name() {
    let page = |title: &str, weight: Option<i64>| {
        let w = weight.map_or(String::new(), |w| format!("weight = {w}\n"));
        format!("+++\ntitle = \"{title}\"\n{w}+++\nx\n")
    };
    let p = Project::new(
        "author-order",
        &[
            ("index.md", &page("Home", None)),
            ("08-late.md", &page("Late", None)),
            ("02-second.md", &page("Second", Some(2))),
            ("03-third.md", &page("Third", None)),
            ("01-first.md", &page("First", Some(1))),
        ],
    );
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    let order: Vec<usize> = ["First", "Second", "Third", "Late"]
        .iter()
        .map(|t| {
            html.find(&format!(">{t}</a>"))
                .unwrap_or_else(|| panic!("{t} not linked"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn count_input_with_other_channels_names_the_layer_or_needs_a_flag() {
    let p = Project::new("author-channels", &[]);
    let (code, _, err) = p.run(&["count", "resnet18", "--input", "1x32x32"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: resnet18/stem/conv1: --input has 1 channels but the model declares 3: this layer's parameters would change from 9408 to 3136; pass --allow-channels to count that other model anyway\n --> content/models/resnet18.toml:18:12\n   |\n18 | layers = [\"conv 64 k7 s2 p3 nobias\", \"bn\", \"relu\", \"maxpool k3 s2 p1\"]\n   |            ^^^^^^^^^^^^^^^^^^^^^^^\n"
    );
    let (code, out, err) = p.run(&[
        "count",
        "resnet18",
        "--input",
        "1x32x32",
        "--allow-channels",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("ResNet-18 (resnet18), input 1x1x32x32\n"),
        "{out}"
    );
    // Another spatial size alone is what --input is for, even where it changes fc6.
    let (code, out, err) = p.run(&["count", "vgg11", "--input", "3x448x448", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"input_shape\": [\n    1,\n    3,\n    448,\n    448\n  ]")
            || out.contains("\"input_shape\":[1,3,448,448]"),
        "{out}"
    );
}
