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

#[test]
fn links_resolve_through_slugs_and_broken_ones_are_located_errors() {
    let index = "+++\ntitle = \"Home\"\n+++\n[b](02-b.md) [part](02-b.md#part) [m](model-vgg11.html#main) [ext](https://example.com/x.md) ![fig](static/img/fig.png) [self](#intro)\n\n## Intro\n";
    let b =
        "+++\ntitle = \"B\"\nslug = \"bee\"\nweight = 1\n+++\n## Part\n\n[home](index.md#intro)\n";
    let p = Project::new("author-links", &[("index.md", index), ("02-b.md", b)]);
    std::fs::create_dir_all(p.root.join("content/static/img")).unwrap();
    std::fs::write(
        p.root.join("content/static/img/fig.png"),
        b"\x89PNG\r\n\x1a\n\x00\xff",
    )
    .unwrap();
    std::fs::write(p.root.join("content/static/notes.md"), "# not a page\n").unwrap();
    std::fs::create_dir_all(p.root.join("templates")).unwrap();
    std::fs::write(p.root.join("templates/logo.png"), b"\x89PNG\x00\xff\xfe").unwrap();
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    for href in [
        "href=\"bee.html\"",
        "href=\"bee.html#part\"",
        "href=\"model-vgg11.html#main\"",
        "href=\"https://example.com/x.md\"",
        "src=\"static/img/fig.png\"",
    ] {
        assert!(html.contains(href), "{href} in {html}");
    }
    assert_eq!(
        std::fs::read(p.site().join("static/img/fig.png")).unwrap(),
        b"\x89PNG\r\n\x1a\n\x00\xff",
        "static files are copied byte for byte"
    );
    assert!(
        p.site().join("static/notes.md").is_file(),
        "Markdown under static/ is a file, not a page"
    );
    assert!(!p.site().join("notes.html").exists());
    assert_eq!(
        std::fs::read(p.site().join("logo.png")).unwrap(),
        b"\x89PNG\x00\xff\xfe"
    );

    for (link, message) in [
        ("[x](nope.md)", "error: broken link `nope.md`: the site has no `nope.md`\n --> content/index.md:4:5\n  |\n4 | See [x](nope.md).\n  |     ^\n  = hint: link to a page by its file name, e.g. `[x](05-input-resolution.md)`, or to `NAME.html` / `model-NAME.html`\n"),
        ("[x](02-b.md#nope)", "error: broken link `02-b.md#nope`: `bee.html` has no element with id `nope`\n --> content/index.md:4:5\n  |\n4 | See [x](02-b.md#nope).\n  |     ^\n"),
        ("![x](static/none.png)", "error: broken link `static/none.png`: the site has no `static/none.png`\n --> content/index.md:4:5\n  |\n4 | See ![x](static/none.png).\n  |     ^\n  = hint: files under content/static/ are in the site as `static/...`\n"),
        ("[x](model-resnet99.html)", "error: broken link `model-resnet99.html`: the site has no `model-resnet99.html`\n --> content/index.md:4:5\n  |\n4 | See [x](model-resnet99.html).\n  |     ^\n  = hint: files under content/static/ are in the site as `static/...`\n"),
    ] {
        p.write("content/index.md", &format!("+++\ntitle = \"Home\"\n+++\nSee {link}.\n\n## Intro\n"));
        let (code, err) = p.build(&[]);
        assert_eq!(code, 1, "{link}");
        assert_eq!(err, message, "{link}");
    }
}

#[test]
fn build_output_is_one_summary_line_quiet_or_one_line_per_file() {
    let p = Project::new(
        "author-output",
        &[(
            "index.md",
            "+++\ntitle = \"P\"\n+++\n{{ chart(kind=\"params_by_kind\") }}\n",
        )],
    );
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let files = common::tree(&p.site());
    let line = err.trim_end();
    assert_eq!(line.lines().count(), 1, "{err}");
    let prefix = format!(
        "built 1 pages, 2 model pages and {} charts into site ({} files, ",
        files.keys().filter(|n| n.ends_with(".svg")).count(),
        files.len() - 1 // the marker file is not one of the site's files
    );
    assert!(line.starts_with(&prefix), "{line}\nexpected {prefix}");
    assert!(line.ends_with(" ms"), "{line}");
    let (code, err) = p.build(&["-q"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let (code, err) = p.build(&["-v"]);
    assert_eq!(code, 0);
    let listed: Vec<&str> = err.lines().filter(|l| l.starts_with("  site/")).collect();
    assert_eq!(listed.len(), files.len() - 1, "{err}");
    assert!(
        listed.contains(
            &format!(
                "  site/index.html ({} B, unchanged)",
                files["index.html"].len()
            )
            .as_str()
        ),
        "{err}"
    );
    let (code, out, _) = p.run(&["--version"]);
    assert_eq!(
        (code, out.as_str()),
        (0, concat!("netledger ", env!("CARGO_PKG_VERSION"), "\n"))
    );
}

#[test]
fn check_builds_in_memory_and_reports_warnings() {
    let p = Project::new(
        "author-check",
        &[
            (
                "index.md",
                "+++\ntitle = \"Same\"\n+++\n{{ params(model=\"vgg11\") }}\n",
            ),
            ("a.md", "+++\ntitle = \"Same\"\nweight = 1\n+++\nx\n"),
        ],
    );
    let (code, _, err) = p.run(&["check"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        "warning: model `resnet18` is never referenced by a page (it still gets model-resnet18.html)\nwarning: pages content/index.md and content/a.md share the title `Same`\nchecked 2 pages and 2 model pages (45 files, internal links and anchors resolved): 2 warnings\n"
    );
    assert!(!p.site().exists(), "check writes nothing");
    let (code, _, err) = p.run(&["check", "--strict"]);
    assert_eq!(code, 1);
    assert!(err.ends_with("error: 2 warnings, and --strict\n"), "{err}");
    p.write("content/a.md", "+++\ntitle = \"A\"\n+++\n[x](gone.md)\n");
    let (code, _, err) = p.run(&["check"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(
            "error: broken link `gone.md`: the site has no `gone.md`\n --> content/a.md:4:1\n"
        ),
        "{err}"
    );
    assert!(!p.site().exists());
    // build prints the same warnings above its summary.
    p.write("content/a.md", "+++\ntitle = \"A\"\n+++\nx\n");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0);
    assert!(
        err.starts_with("warning: model `resnet18` is never referenced by a page"),
        "{err}"
    );
}

#[test]
fn diff_lists_added_removed_and_changed_layers_with_deltas() {
    let p = Project::new(
        "author-diff",
        &[(
            "index.md",
            "+++\ntitle = \"P\"\n+++\n{{ diff(a=\"vgg11\", b=\"gap\") }}\n",
        )],
    );
    p.write(
        "content/models/gap.toml",
        "extends = \"vgg11\"\nname = \"VGG-11, GAP head\"\n\n[[section]]\nname = \"head\"\nlayers = [\"adaptiveavgpool 1\", \"flatten\", \"linear 1000\"]\n",
    );
    let (code, out, err) = p.run(&["diff", "vgg11", "gap"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("vgg11 -> gap: "), "{out}");
    let total = out.lines().last().unwrap();
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        [
            "total",
            "132,863,336",
            "9,733,480",
            "-123,129,856",
            "-123,121,664"
        ],
        "{out}"
    );
    let (code, csv, _) = p.run(&["diff", "vgg11", "gap", "--format", "csv"]);
    assert_eq!(code, 0);
    assert!(
        csv.lines()
            .any(|l| l == "head/fc6,removed,102764544,,102760448,,1x4096,"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l == "head/fc1,added,,513000,,512000,,1x1000"),
        "{csv}"
    );
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(html.contains("From vgg11 to gap: "), "{html}");
    assert!(html.contains("-123,129,856"), "{html}");
    assert!(p.site().join("data/diff-vgg11-gap.csv").is_file());
}

#[test]
fn a_big_book_has_a_windowed_sidebar_and_linear_output() {
    let pages: Vec<(String, String)> = (0..150)
        .map(|i| {
            (
                format!("{i:03}-p.md"),
                format!("+++\ntitle = \"Page {i}\"\nweight = {i}\n+++\nText {i}.\n"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = pages
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = Project::new("author-big", &refs);
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
    let page = |slug: &str| std::fs::read_to_string(p.site().join(format!("{slug}.html"))).unwrap();
    let middle = page("100-p");
    let side =
        &middle[middle.find("<ol class=\"chapters\"").unwrap()..middle.find("</ol>").unwrap()];
    assert_eq!(side.matches("<li>").count(), 60, "{side}");
    assert!(
        side.starts_with("<ol class=\"chapters\" start=\"71\">\n<li><a href=\"070-p.html\">"),
        "the window keeps the chapters' numbers: {side}"
    );
    assert!(
        side.contains("href=\"100-p.html\" aria-current=\"page\""),
        "{side}"
    );
    assert!(
        !side.contains("\"000-p.html\""),
        "far chapters are left to the index"
    );
    assert!(middle.contains("<a href=\"index.html#chapters\">All 150 chapters</a>"));
    let index = page("index");
    assert!(
        index.matches("-p.html\">Page ").count() >= 150,
        "the index lists every chapter"
    );
    // Every page's size is independent of the book's length.
    let sizes: Vec<usize> = ["010-p", "075-p", "140-p"]
        .iter()
        .map(|s| page(s).len())
        .collect();
    let spread = sizes.iter().max().unwrap() - sizes.iter().min().unwrap();
    assert!(spread < 200, "{sizes:?}");
}

#[test]
fn every_broken_link_is_reported_in_one_run() {
    let p = Project::new(
        "author-many-links",
        &[(
            "index.md",
            "+++\ntitle = \"P\"\n+++\n[a](gone.md)\n\n[b](#nowhere)\n\n![c](static/none.png)\n",
        )],
    );
    let (code, _, err) = p.run(&["check"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("error: ") || l.starts_with(" --> "))
        .collect();
    assert_eq!(
        lines,
        [
            "error: broken link `gone.md`: the site has no `gone.md`",
            " --> content/index.md:4:1",
            "error: broken link `#nowhere`: `index.html` has no element with id `nowhere`",
            " --> content/index.md:6:1",
            "error: broken link `static/none.png`: the site has no `static/none.png`",
            " --> content/index.md:8:1",
            "error: 3 errors",
        ],
        "{err}"
    );
}

#[test]
fn a_part_starts_its_own_list_in_the_navigation_and_the_index() {
    let p = Project::new(
        "author-parts",
        &[
            ("index.md", "+++\ntitle = \"Home\"\n+++\nx\n"),
            ("01-a.md", "+++\ntitle = \"A\"\n+++\na\n"),
            (
                "02-b.md",
                "+++\ntitle = \"B\"\npart = \"Appendix\"\n+++\nb\n",
            ),
            ("03-c.md", "+++\ntitle = \"C\"\n+++\nc\n"),
        ],
    );
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
    let page = std::fs::read_to_string(p.site().join("03-c.html")).unwrap();
    let start = page.find("<p class=\"nav-head\">Contents</p>").unwrap();
    let end = start
        + page[start..]
            .find("<p class=\"nav-head\">Models</p>")
            .unwrap();
    assert_eq!(
        &page[start..end],
        "<p class=\"nav-head\">Contents</p>\n\
         <ol class=\"chapters\">\n\
         <li><a href=\"01-a.html\">A</a></li>\n\
         </ol>\n\
         <p class=\"nav-part\">Appendix</p>\n\
         <ol class=\"chapters\" start=\"2\">\n\
         <li><a href=\"02-b.html\">B</a></li>\n\
         <li><a href=\"03-c.html\" aria-current=\"page\">C</a></li>\n\
         </ol>\n"
    );
    let index = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(
        index.contains("<h3>Appendix</h3>\n<ol class=\"index-chapters\" start=\"2\">\n<li><a href=\"02-b.html\">B</a></li>\n<li><a href=\"03-c.html\">C</a></li>\n</ol>"),
        "{index}"
    );
}
