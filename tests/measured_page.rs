//! The measured chapter's functions on a real bench file: what was
//! measured, what had to be guessed, and time by section.

mod common;

use common::Project;

#[test]
fn guessed_macs_and_time_by_section() {
    let page = "+++\ntitle = \"M\"\n+++\n\
        tiny guessed {{ guessed_macs(model=\"tiny\") }} of {{ macs(model=\"tiny\") }}; \
        resnet18 guessed {{ guessed_macs(model=\"resnet18\") }}; \
        guessed time {{ model_time(model=\"tiny\", guessed=true) == model_time(model=\"tiny\", kind=\"conv\") + model_time(model=\"tiny\", kind=\"linear\") }}; \
        sections add up {{ (model_time(model=\"resnet18\", section=\"stem\") + model_time(model=\"resnet18\", section=\"stage1\") + model_time(model=\"resnet18\", section=\"stage2\") + model_time(model=\"resnet18\", section=\"stage3\") + model_time(model=\"resnet18\", section=\"stage4\") + model_time(model=\"resnet18\", section=\"head\") - model_time(model=\"resnet18\")) | abs < 0.000000001 }}; \
        stage1 measured {{ model_time(model=\"resnet18\", section=\"stage1\") > 0 }}\n";
    let p = Project::new("measured-page", &[("index.md", page)]);
    p.write(
        "content/models/tiny.toml",
        "name = \"Tiny\"\ninput = [3, 20, 20]\n[[section]]\nname = \"body\"\nlayers = [\"conv 7 k3\", \"relu\", \"gap\", \"flatten\", \"fc: linear 5\"]\n",
    );
    let bench = common::shipped_bench();
    p.write("content/data/bench.json", &bench);
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(
        html.contains("tiny guessed 61271 of 61271; resnet18 guessed 0; guessed time true; sections add up true; stage1 measured true"),
        "{html}"
    );
}

#[test]
fn each_machine_has_its_own_file_and_the_chapter_shows_them_side_by_side() {
    let page =
        "+++\ntitle = \"M\"\n+++\n{{ machine() }}\n\n{{ machines(models=[\"resnet18\"]) }}\n";
    let p = Project::new("measured-machines", &[("index.md", page)]);
    let here = common::shipped_bench();
    let other = here
        .replacen("\"cpu_model\": \"", "\"cpu_model\": \"Other CPU ", 1)
        .replacen("\"date\": \"", "\"date\": \"1999", 1);
    p.write("content/data/bench/other-cpu.json", &other);
    p.write("content/data/bench/this.json", &here);
    // A legacy single file of a machine that bench/ already holds is left out.
    p.write("content/data/bench.json", &here);
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    let table = &html[html.find("<table><caption>Measured machines").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(
        table
            .matches("<th scope=\"col\" class=\"num\">Machine ")
            .count(),
        2,
        "{table}"
    );
    assert!(table.contains("<td class=\"num\">Other CPU "), "{table}");
    assert!(
        table.contains("<th scope=\"row\">ResNet-18, sum of layers at batch 1 (ms)</th>"),
        "{table}"
    );
    // The chapter speaks of the most recent run, not of the 1999 one.
    assert!(!html.contains("<p>Other CPU"), "{html}");
}

#[test]
fn the_kernel_table_shows_each_kernels_share_of_its_ceiling_paired_sample_by_sample() {
    let page = "+++\ntitle = \"M\"\n+++\n{{ kernel_table() }}\n";
    let p = Project::new("measured-paired", &[("index.md", page)]);
    let mut bench: serde_json::Value = serde_json::from_str(&common::shipped_bench()).unwrap();
    let kernels = bench["kernels"].as_array_mut().unwrap();
    for k in kernels.iter_mut() {
        k.as_object_mut()
            .unwrap()
            .remove("fraction_of_ceiling_paired");
    }
    let simd: Vec<usize> = (0..kernels.len())
        .filter(|&i| kernels[i]["variant"] == "simd")
        .collect();
    let (with, without) = (simd[0], simd[1]);
    kernels[with]["fraction_of_ceiling_paired"] = serde_json::json!([0.581, 0.62, 0.644]);
    let short = |i: usize| {
        let name = kernels[i]["name"].as_str().unwrap();
        format!("<code>{}</code>", name.split_once('/').unwrap().1)
    };
    let (with_name, without_name) = (short(with), short(without));
    let full_name = kernels[with]["name"].as_str().unwrap().to_string();
    p.write("content/data/bench/this.json", &bench.to_string());
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(
        html.contains("<th scope=\"col\" class=\"num\">% of ceiling</th><th scope=\"col\" class=\"num\">Paired</th><th scope=\"col\" class=\"num\">SIMD / scalar</th>"),
        "{html}"
    );
    for (name, cell) in [(&with_name, "62% (58-64)"), (&without_name, "n/a")] {
        let row = row_with(&html, name);
        assert_eq!(row.matches("<td").count(), 10, "{row}");
        let cells: Vec<&str> = row.split("<td class=\"num\">").collect();
        assert!(
            cells[cells.len() - 2].starts_with(&format!("{cell}</td>")),
            "{row}"
        );
    }
    let csv = std::fs::read_to_string(p.site().join("data/kernels.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains(",fraction_of_ceiling,paired_q1,paired_median,paired_q3,speedup_vs_scalar"));
    let line = csv
        .lines()
        .find(|l| l.starts_with(&format!("{full_name},")) && l.contains(",simd,"))
        .unwrap();
    assert!(line.contains(",0.581,0.62,0.644,"), "{line}");
}

#[test]
fn pages_read_the_paired_share_and_fall_back_where_a_file_has_none() {
    let mut bench: serde_json::Value = serde_json::from_str(&common::shipped_bench()).unwrap();
    for k in bench["kernels"].as_array_mut().unwrap() {
        let o = k.as_object_mut().unwrap();
        let simd = o["variant"] == "simd";
        match o["name"].as_str().unwrap() {
            "vgg19/head/fc6" if simd => {
                o.insert(
                    "fraction_of_ceiling_paired".into(),
                    serde_json::json!([0.91, 0.93, 0.95]),
                );
            }
            "vgg19/head/fc7" => {
                o.remove("fraction_of_ceiling_paired");
            }
            _ => {}
        }
    }
    let bench = bench.to_string();
    let page = "+++\ntitle = \"M\"\n+++\n\
        fc6 {{ kernel(kernel=\"vgg19/head/fc6\", field=\"paired_q1\") }} \
        {{ kernel(kernel=\"head/fc6\", field=\"paired_median\", missing=-1) }} \
        {{ kernel(kernel=\"vgg19/head/fc6\", field=\"paired_q3\") }}; \
        fc7 {{ kernel(kernel=\"vgg19/head/fc7\", field=\"paired_median\", missing=-1) }}\n";
    let p = Project::new("measured-paired-field", &[("index.md", page)]);
    p.write("content/data/bench/this.json", &bench);
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(
        html.contains("<p>fc6 0.91 0.93 0.95; fc7 -1.0</p>"),
        "{html}"
    );

    let page = "+++\ntitle = \"M\"\n+++\n{{ kernel(kernel=\"vgg19/head/fc7\", field=\"paired_median\") }}\n";
    let p = Project::new("measured-paired-missing", &[("index.md", page)]);
    p.write("content/data/bench/this.json", &bench);
    let (code, err) = p.build(&["-q"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("kernel(): `vgg19/head/fc7` has no `paired_median` in this results file (made before it was recorded); give `missing=` a value to fall back on"),
        "{err}"
    );
}

#[test]
fn bench_writes_its_own_machines_file_and_leaves_the_others() {
    let p = Project::new("measured-bench-out", &[]);
    for m in ["vgg19", "resnet34", "resnet50"] {
        p.write(
            &format!("content/models/{m}.toml"),
            &std::fs::read_to_string(format!("content/models/{m}.toml")).unwrap(),
        );
    }
    p.write("content/data/bench/someone-else.json", "left alone");
    let (code, _, err) = p.run(&["bench", "--quick", "--filter", "vgg19/head/fc8"]);
    assert_eq!(code, 0, "{err}");
    let dir = p.root.join("content/data/bench");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("someone-else.json")).unwrap(),
        "left alone"
    );
    let ours = names.iter().find(|n| *n != "someone-else.json").unwrap();
    let report =
        netledger::bench::results::parse(&std::fs::read_to_string(dir.join(ours)).unwrap(), &dir)
            .unwrap();
    assert_eq!(*ours, format!("{}.json", report.machine.key()));
    // Each SIMD kernel's samples were paired with a probe of its ceiling.
    for k in &report.kernels {
        match (k.variant, k.fraction_of_ceiling_paired) {
            (netledger::bench::Variant::Simd, Some([q1, m, q3])) => {
                assert!(0.0 < q1 && q1 <= m && m <= q3 && q3 < 10.0, "{k:?}")
            }
            (netledger::bench::Variant::Scalar, None) => {}
            _ => panic!("{k:?}"),
        }
    }
    assert!(
        err.contains(&format!("wrote content/data/bench/{ours}")),
        "{err}"
    );
}

#[test]
fn a_peer_file_from_a_stranger_is_checked_and_located() {
    let (p, _) = peer_project("measured-peers");
    let mut files: Vec<_> = std::fs::read_dir("content/data/peers")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let good = std::fs::read_to_string(&files[0]).unwrap();
    let bad = good.replacen("\"rounds\":", "\"roundz\":", 1);
    p.write("content/data/peers/x.json", &bad);
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: invalid peer comparison: unknown field `roundz`"),
        "{err}"
    );
    assert!(err.contains(" --> content/data/peers/x.json:"), "{err}");
    let negative = good.replacen("\"torch_median_s\": ", "\"torch_median_s\": -", 1);
    p.write("content/data/peers/x.json", &negative);
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid peer comparison"), "{err}");
    p.write("content/data/peers/x.json", &good);
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_peer_table_says_how_its_samples_were_paired() {
    let (p, key) = peer_project("measured-peer-pairing");
    let peer = |interleaved: bool| {
        peer_file(
            &key,
            interleaved,
            serde_json::json!([{"name": "resnet18/stem/conv1", "workload": "conv 3->64 224x224 k7 s2 p3",
                                "batch": 1, "netledger_median_s": 0.002, "torch_median_s": 0.003}]),
            serde_json::json!([]),
        )
    };
    let caption = |interleaved: bool| {
        p.write("content/data/peers/x.json", &peer(interleaved));
        let (code, err) = p.build(&["-q"]);
        assert_eq!(code, 0, "{err}");
        let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
        let at = html
            .find("<caption>netledger against PyTorch")
            .expect("peer table");
        let end = at + html[at..].find("</caption>").unwrap();
        html[at + "<caption>".len()..end].to_string()
    };
    assert_eq!(
        caption(true),
        "netledger against PyTorch on this machine, single thread, medians of 15 samples of \
         each, taken alternately one by one on the same shape, both on CPU 1 (torch 9.9 (oneDNN), single \
         thread; load 1.00 to 1.25). A ratio above 1: netledger is faster."
    );
    assert_eq!(
        caption(false),
        "netledger against PyTorch on this machine, single thread, medians of 15 alternating \
         rounds (torch 9.9 (oneDNN), single thread; load 1.00 to 1.25). A ratio above 1: \
         netledger is faster."
    );
    // Without quartiles, no column for them, and the row counts medians.
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(!html.contains("Middle half"), "{html}");
    assert_eq!(
        row_with(&html, "shapes faster than PyTorch"),
        "<tr class=\"group\"><th scope=\"colgroup\" colspan=\"6\">resnet18 (1 of 1 shapes faster \
         than PyTorch)</th></tr>"
    );
}

/// A project whose page shows `peers()`, with the shipped bench file, and
/// the key of that file's machine (which a peer file must name).
fn peer_project(name: &str) -> (Project, String) {
    let page = "+++\ntitle = \"M\"\n+++\n{{ peers(models=[\"resnet18\"]) }}\n";
    let p = Project::new(name, &[("index.md", page)]);
    let bench = common::shipped_bench();
    p.write("content/data/bench/this.json", &bench);
    let v: serde_json::Value = serde_json::from_str(&bench).unwrap();
    let m: netledger::bench::Machine = serde_json::from_value(v["machine"].clone()).unwrap();
    (p, m.key())
}

/// A peer comparison file for `key`'s machine with these kernels and
/// forward passes.
fn peer_file(
    key: &str,
    interleaved: bool,
    kernels: serde_json::Value,
    forward: serde_json::Value,
) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "about": "torch 9.9 (oneDNN), single thread",
        "machine_key": key,
        "cpu_model": "Some CPU",
        "date": "2026-12-02T06:00:00Z",
        "rounds": 15,
        "interleaved": interleaved,
        "cpu": if interleaved { Some(1) } else { None },
        "load_avg_start": [1.0, 1.0, 1.0],
        "load_avg_end": [1.25, 1.0, 1.0],
        "kernels": kernels,
        "forward": forward
    }))
    .unwrap()
}

/// The `<tr>` of `html` that holds `needle`.
fn row_with<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in {html}"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap() + "</tr>".len();
    &html[start..end]
}

#[test]
fn a_shape_is_called_faster_or_slower_only_when_three_pairs_of_four_agree() {
    let (p, key) = peer_project("measured-peer-verdicts");
    let kernel = |name: &str, ours: f64, torch: f64, q: [f64; 3]| {
        serde_json::json!({"name": format!("resnet18/{name}"), "workload": "conv 64->64 56x56 k3 s1 p1",
                           "batch": 1, "netledger_median_s": ours, "torch_median_s": torch,
                           "ratio_quartiles": q})
    };
    let kernels = serde_json::json!([
        kernel("stage1/block1/conv1", 0.001, 0.0012, [1.1, 1.2, 1.3]),
        kernel("stage1/block1/conv2", 0.001, 0.0008, [0.7, 0.8, 0.9]),
        // The medians say faster, the pairs say it is a coin toss.
        kernel("stage2/block1/conv1", 0.001, 0.00104, [0.97, 1.04, 1.08]),
        // A shape without quartiles in a file that has them.
        {"name": "resnet50/stage1/block0/conv1", "workload": "conv 64->64 56x56 k1 s1 p0",
         "batch": 1, "netledger_median_s": 0.0002, "torch_median_s": 0.0003},
    ]);
    let forward = serde_json::json!([{"model": "resnet18", "batch": 1, "torch_median_s": 0.03,
                                      "netledger_median_s": 0.025, "ratio_quartiles": [1.15, 1.2, 1.25]}]);
    p.write(
        "content/data/peers/x.json",
        &peer_file(&key, true, kernels, forward),
    );
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert_eq!(
        row_with(&html, "shapes faster than PyTorch"),
        "<tr class=\"group\"><th scope=\"colgroup\" colspan=\"7\">resnet18: 1 of 3 shapes faster than PyTorch and 1 \
         slower, each in at least three pairs of four; 1 too close to call</th></tr>"
    );
    assert_eq!(
        row_with(&html, "<code>stage1/block1/conv2</code>"),
        "<tr><th scope=\"row\"><code>stage1/block1/conv2</code></th><td>conv 64-&gt;64 56x56 k3 s1 p1</td>\
         <td class=\"num\">1</td><td class=\"num\">1.00 ms</td><td class=\"num\">800.0 µs</td>\
         <td class=\"num\">0.80x</td><td class=\"num\">0.70-0.90x</td></tr>"
    );
    assert!(
        row_with(&html, "<th scope=\"row\">ResNet-18</th>")
            .contains("<td class=\"num\">1.15-1.25x</td>"),
        "{html}"
    );
    assert!(
        html.contains(
            "A ratio above 1: netledger is faster. The middle half of pairs: the first to third \
             quartile of the ratio taken pair by pair, each PyTorch sample over netledger's next to it.</caption>"
        ),
        "{html}"
    );
    assert!(
        row_with(&html, "resnet50 (")
            .ends_with(">resnet50 (1 of 1 shapes faster than PyTorch)</th></tr>"),
        "{html}"
    );
    assert!(
        row_with(&html, "<code>stage1/block0/conv1</code>")
            .ends_with("<td class=\"num\">not paired</td></tr>"),
        "{html}"
    );
}

#[test]
fn paired_quartiles_out_of_order_are_refused_with_their_place() {
    let (p, key) = peer_project("measured-peer-quartiles");
    let with = |q: serde_json::Value| {
        let kernels = serde_json::json!([{"name": "resnet18/stem/conv1", "workload": "conv 3->64 224x224 k7 s2 p3",
                                          "batch": 1, "netledger_median_s": 0.002, "torch_median_s": 0.003,
                                          "ratio_quartiles": q}]);
        p.write(
            "content/data/peers/x.json",
            &peer_file(&key, true, kernels, serde_json::json!([])),
        );
        let (code, err) = p.build(&["-q"]);
        assert_eq!(code, 1, "{err}");
        err
    };
    let err = with(serde_json::json!([1.2, 1.1, 1.3]));
    assert_eq!(
        err.lines().take(2).collect::<Vec<_>>().join("\n"),
        // Line 17 is where the quartiles array closes.
        "error: invalid peer comparison: quartiles must be in order, got 1.2, 1.1, 1.3\n \
         --> content/data/peers/x.json:17:6"
    );
    let err = with(serde_json::json!([-1.0, 1.1, 1.3]));
    assert!(err.starts_with("error: invalid peer comparison: "), "{err}");
    assert!(err.contains(" --> content/data/peers/x.json:"), "{err}");
}

#[test]
fn a_pinned_run_says_which_cpu_it_ran_on() {
    let page = "+++\ntitle = \"M\"\n+++\nMachine: {{ machine() }}.\n";
    let p = Project::new("measured-pinned", &[("index.md", page)]);
    let mut bench: serde_json::Value = serde_json::from_str(&common::shipped_bench()).unwrap();
    let line = |p: &Project| {
        let (code, err) = p.build(&["-q"]);
        assert_eq!(code, 0, "{err}");
        let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
        let at = html.find("Machine: ").expect("machine line");
        html[at..at + html[at..].find(".</p>").unwrap()].to_string()
    };
    bench["machine"]["pinned_cpu"] = serde_json::json!(1);
    p.write("content/data/bench/this.json", &bench.to_string());
    let pinned = line(&p);
    bench["machine"]
        .as_object_mut()
        .unwrap()
        .remove("pinned_cpu");
    p.write("content/data/bench/this.json", &bench.to_string());
    let free = line(&p);
    let cores = bench["machine"]["cores"].as_u64().unwrap();
    assert!(
        pinned.contains(&format!(", {cores} cores (pinned to CPU 1), ")),
        "{pinned}"
    );
    assert_eq!(
        pinned.replace(" (pinned to CPU 1)", ""),
        free,
        "only the CPU differs"
    );
}
