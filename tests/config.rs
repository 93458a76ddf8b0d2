//! `netledger init`, `netledger.toml` and `--root`.

mod common;
use common::{run_in, tree, Project};

/// (exit code, stderr) of the binary run in `dir`.
fn netledger(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let (code, _, err) = run_in(dir, args);
    (code, err)
}

#[test]
fn init_creates_a_course_that_builds_at_once() {
    let p = Project::new("config-init", &[]);
    let (code, err) = netledger(&p.root, &["init", "my-course"]);
    assert_eq!(code, 0, "{err}");
    let course = p.root.join("my-course");
    let mut made: Vec<String> = tree(&course).into_keys().collect();
    made.sort();
    assert_eq!(
        made,
        [
            "content/index.md",
            "content/models/lenet5.toml",
            "netledger.toml"
        ]
    );
    assert!(course.join("content/static").is_dir());
    let (code, err) = netledger(&course, &["build"]);
    assert_eq!(code, 0, "{err}");
    let index = std::fs::read_to_string(course.join("site/index.html")).unwrap();
    assert!(
        index.contains(
            "<p>LeNet-5 has 61,706 parameters and needs\n416,520 multiply-accumulates per image."
        ),
        "{index}"
    );
    assert!(index.contains("<title>My course</title>"), "{index}");
    // From outside, with --root.
    std::fs::remove_dir_all(course.join("site")).unwrap();
    let (code, err) = netledger(&p.root, &["--root", "my-course", "build"]);
    assert_eq!(code, 0, "{err}");
    assert!(course.join("site/model-lenet5.html").is_file());
    let (code, err) = netledger(&p.root, &["init", "my-course"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: `my-course` is not empty; `init` only creates a course in a new or empty folder\n"
    );
}

#[test]
fn settings_reach_every_page_and_flags_override_them() {
    let p = Project::new(
        "config-settings",
        &[
            ("index.md", "+++\ntitle = \"Home\"\n+++\nx\n"),
            (
                "a.md",
                "+++\ntitle = \"A\"\nweight = 1\n+++\n[home](index.md)\n",
            ),
        ],
    );
    p.write(
        "netledger.toml",
        "title = \"Ma leçon\"\nauthor = \"Ada\"\nlanguage = \"fr\"\nbase_url = \"https://example.org/lecon/\"\nmodel_pages = [\"vgg11\"]\nout = \"public\"\n",
    );
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let out = p.root.join("public");
    let a = std::fs::read_to_string(out.join("a.html")).unwrap();
    assert!(a.contains("<html lang=\"fr\">"), "{a}");
    assert!(a.contains("<meta name=\"author\" content=\"Ada\">"), "{a}");
    assert!(
        a.contains("<link rel=\"canonical\" href=\"https://example.org/lecon/a.html\">"),
        "{a}"
    );
    assert!(a.contains("<title>A · Ma leçon</title>"), "{a}");
    assert!(out.join("model-vgg11.html").is_file());
    assert!(
        !out.join("model-resnet18.html").exists(),
        "model_pages limits the model pages"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("sitemap.xml")).unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n  <url><loc>https://example.org/lecon/a.html</loc></url>\n  <url><loc>https://example.org/lecon/index.html</loc></url>\n  <url><loc>https://example.org/lecon/model-vgg11.html</loc></url>\n</urlset>\n"
    );
    let (code, err) = p.build(&["--out", "elsewhere"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        p.root.join("elsewhere/index.html").is_file(),
        "the flag wins over the file"
    );
}

#[test]
fn mistakes_in_netledger_toml_are_located() {
    let p = Project::new(
        "config-errors",
        &[("index.md", "+++\ntitle = \"Home\"\n+++\nx\n")],
    );
    p.write("netledger.toml", "title = \"T\"\ntitel = \"typo\"\n");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: unknown field `titel`, expected one of "),
        "{err}"
    );
    assert!(
        err.contains(" --> netledger.toml:2:1\n  |\n2 | titel = \"typo\"\n  | ^^^^^\n"),
        "{err}"
    );
    p.write("netledger.toml", "model_pages = [\"vgg99\"]\n");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: unknown model `vgg99`"), "{err}");
    p.write("netledger.toml", "base_url = \"example.org\"\n");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert_eq!(err, "error: `base_url` must be an http(s) address ending in `/`, not `example.org`\n --> netledger.toml:1:1\n  |\n1 | base_url = \"example.org\"\n  | ^^^^^^^^\n  = hint: e.g. base_url = \"https://example.org/notes/\"\n");
}

#[test]
fn chapters_in_netledger_toml_set_the_navigation_order() {
    let page = |t: &str, w: i64| format!("+++\ntitle = \"{t}\"\nweight = {w}\n+++\nx\n");
    let p = Project::new(
        "config-chapters",
        &[
            ("index.md", "+++\ntitle = \"Home\"\n+++\nx\n"),
            ("a.md", &page("Alpha", 1)),
            ("b.md", &page("Beta", 2)),
            ("c.md", &page("Gamma", 3)),
        ],
    );
    p.write("netledger.toml", "chapters = [\"c.md\", \"a.md\"]\n");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let index = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    let at = |t: &str| index.find(&format!(">{t}</a>")).unwrap();
    assert!(
        at("Gamma") < at("Alpha") && at("Alpha") < at("Beta"),
        "listed first, in order; the rest after"
    );
    p.write("netledger.toml", "chapters = [\"c.md\", \"c.md\"]\n");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: `chapters` names `c.md` twice\n --> netledger.toml:1:21\n"),
        "{err}"
    );
    p.write("netledger.toml", "chapters = [\"c.md\", \"z.md\"]\n");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: `chapters` names `z.md`, which is not a page in content (pages: a.md, b.md)\n --> netledger.toml:1:21\n  |\n1 | chapters = [\"c.md\", \"z.md\"]\n  |                     ^^^^^^\n"
    );
}

#[test]
fn the_default_input_counts_model_files_that_declare_none() {
    let p = Project::new(
        "config-input",
        &[(
            "index.md",
            "+++\ntitle = \"I\"\n+++\n{{ macs(model=\"tiny\") }} {{ shape(model=\"tiny\", layer=\"body/conv1\") }}\n",
        )],
    );
    p.write(
        "content/models/tiny.toml",
        "name = \"Tiny\"\n[[section]]\nname = \"body\"\nlayers = [\"conv 8 k3 p1\"]\n",
    );
    // Without a default, the model file is incomplete.
    let (code, err) = netledger(&p.root, &["count", "tiny"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("missing `input`")
            && err.contains("or set a default `input` in netledger.toml"),
        "{err}"
    );
    p.write("netledger.toml", "input = [3, 32, 32]\n");
    let (code, out, err) = run_in(&p.root, &["count", "tiny", "--by", "section"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Tiny (tiny), input 1x3x32x32\n"), "{out}");
    // 8 x 3 x 3 x 3 x 32 x 32 multiply-accumulates.
    assert!(out.contains("MACs:                221,184\n"), "{out}");
    let (code, err) = netledger(&p.root, &["build", "-q"]);
    assert_eq!(code, 0, "{err}");
    let index = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(index.contains("<p>221184 1x8x32x32</p>"), "{index}");
    // A model's own input wins over the default.
    assert!(
        std::fs::read_to_string(p.site().join("model-resnet18.html"))
            .unwrap()
            .contains("input 3x224x224")
    );
}
