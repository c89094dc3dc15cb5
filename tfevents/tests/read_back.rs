//! TensorBoard itself reads what we write: a log directory with every kind of record is loaded
//! by `read_back.py` with TensorBoard's `EventAccumulator` and its hparams plugin handlers, in
//! the project's Python venv (`$PISA_PYTHON`, provisioned by `cargo xtask setup` with the
//! pinned `tensorboard`), and what TensorBoard found is checked here. And the other way round:
//! a file written by TensorBoard's own Python writer reads back with our reader.
//!
//! These tests fail (they don't skip) when `PISA_PYTHON` is unset or TensorBoard can't be
//! imported, with a message that says to run `cargo xtask setup`.
//!
//! Set `TFEVENTS_READ_BACK_DIR=<dir>` to write the log directory there (and keep it) instead of
//! a temporary directory, e.g. to look at it with `tensorboard --logdir <dir>`.

use std::path::Path;
use std::process::Command;

use prost::Message;
use serde_json::{json, Value};
use tfevents::proto::event::What;
use tfevents::proto::hparams::{h_params_plugin_data::Data, HParamsPluginData};
use tfevents::proto::summary::value::Value as V;
use tfevents::proto::{HistogramProto, Summary, ValueKind};
use tfevents::{event_files, read_events, summaries, HistogramBins, SummaryWriter, FILE_VERSION};

const SETUP_HINT: &str =
    "run `cargo xtask setup` (it installs the pinned tensorboard into the venv), then `eval \"$(cargo xtask env)\"`";

const IMG_H: usize = 2;
const IMG_W: usize = 5;

/// Pixel (y, x) of the RGB test image: it says where it is.
fn pixel(y: usize, x: usize) -> [u8; 3] {
    [(y * 100) as u8, (x * 50) as u8, 7]
}

fn histogram_values() -> Vec<f64> {
    // A deterministic spread-out sample in [-3, 3].
    (0..1000).map(|i| 3.0 * (i as f64 * 0.37).sin()).collect()
}

fn write_logdir(dir: &Path) {
    let mut w = SummaryWriter::new(dir).unwrap();
    for step in 0..5 {
        w.add_scalar("train/loss", 1.0 / (step as f64 + 1.0), step)
            .unwrap();
    }
    w.add_scalar("lr", 0.125_f32, 3).unwrap();

    let rgb: Vec<u8> = (0..IMG_H)
        .flat_map(|y| (0..IMG_W).flat_map(move |x| pixel(y, x)))
        .collect();
    w.add_image("samples/rgb", &rgb, IMG_H, IMG_W, 3, 7).unwrap();
    let gray: Vec<u8> = (0..6).map(|i| i * 40).collect(); // 3 rows x 2 columns
    w.add_image("samples/gray", &gray, 3, 2, 1, 7).unwrap();

    let values = histogram_values();
    w.add_histogram("weights", &values, 1).unwrap();
    w.add_histogram("weights", &values[..500], 2).unwrap();
    w.add_histogram_with_bins("weights_eq", &values, HistogramBins::EqualWidth(30), 1)
        .unwrap();

    w.add_text("notes", "**SISA** with `m = 4` nodes", 0).unwrap();

    w.add_hparams(
        [
            ("lr", 0.01.into()),
            ("optimizer", "sisa".into()),
            ("nesterov", true.into()),
            ("nodes", 4usize.into()),
        ],
        [("hparam/accuracy", 0.9), ("hparam/loss", 0.1)],
        Some("hp"),
    )
    .unwrap();
    w.flush().unwrap();
}

/// Runs `read_back.py` with `args` in the venv's Python; returns its stdout.
fn run_script(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let python = std::env::var_os("PISA_PYTHON")
        .unwrap_or_else(|| panic!("PISA_PYTHON is not set, so TensorBoard can't be run: {SETUP_HINT}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/read_back.py");
    let out = Command::new(&python)
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("can't run {python:?} (PISA_PYTHON): {e}; {SETUP_HINT}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => out.stdout,
        Some(3) => panic!("{}\n{SETUP_HINT}", stderr.trim()),
        _ => panic!("read_back.py failed ({}):\n{stderr}", out.status),
    }
}

fn read_back(dir: &Path) -> Value {
    let stdout = run_script(&[dir.as_os_str()]);
    serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("read_back.py printed no JSON: {e}"))
}

/// TensorBoard's compressed histogram (the DISTRIBUTIONS dashboard) interpolates quantiles from
/// our buckets: they run from min to max, and the median is near the true one (within the
/// 0.2-wide buckets of the equal-width case; TensorFlow's buckets are finer at |x| < 2).
fn check_compressed(h: &Value, values: &[f64]) {
    assert_eq!(
        h["compressed_bps"],
        json!([0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000])
    );
    let q: Vec<f64> = h["compressed_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(q.windows(2).all(|w| w[0] <= w[1]), "{q:?}");
    assert_eq!(
        (q[0], q[8]),
        (h["min"].as_f64().unwrap(), h["max"].as_f64().unwrap())
    );
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[values.len() / 2 - 1] + sorted[values.len() / 2]) / 2.0;
    assert!(
        (q[4] - median).abs() < 0.2,
        "compressed median {} vs {median}",
        q[4]
    );
}

fn f32_rounded(x: f64) -> f64 {
    x as f32 as f64
}

#[test]
fn tensorboard_reads_every_kind_of_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("TFEVENTS_READ_BACK_DIR").map_or_else(|| tmp.path().to_path_buf(), Into::into);
    write_logdir(&dir);
    let tb = read_back(&dir);
    let run = &tb["runs"]["."];
    let hp = &tb["runs"]["hp"];
    assert!(run.is_object() && hp.is_object(), "runs found: {}", tb["runs"]);

    // Scalars: steps and values (stored as f32).
    let loss: Vec<Value> = (0..5)
        .map(|s| json!([s, f32_rounded(1.0 / (s as f64 + 1.0))]))
        .collect();
    assert_eq!(run["scalars"]["train/loss"], Value::Array(loss));
    assert_eq!(run["scalars"]["lr"], json!([[3, 0.125]]));

    // Images: the non-square RGB image keeps its orientation: 5 wide, 2 high, pixel (y, x) in
    // row y, column x as PIL decodes it.
    let rgb = &run["images"]["samples/rgb"][0];
    assert_eq!(
        (&rgb["step"], &rgb["width"], &rgb["height"]),
        (&json!(7), &json!(IMG_W), &json!(IMG_H))
    );
    assert_eq!(rgb["png_size"], json!([IMG_W, IMG_H]));
    assert_eq!(rgb["mode"], "RGB");
    let want: Vec<Vec<[u8; 3]>> = (0..IMG_H)
        .map(|y| (0..IMG_W).map(|x| pixel(y, x)).collect())
        .collect();
    assert_eq!(rgb["pixels"], json!(want));
    let gray = &run["images"]["samples/gray"][0];
    assert_eq!(
        (&gray["width"], &gray["height"], &gray["mode"]),
        (&json!(2), &json!(3), &json!("L"))
    );
    assert_eq!(
        gray["pixels"],
        json!([[[0], [40]], [[80], [120]], [[160], [200]]])
    );

    // Histograms: totals and moments; TensorBoard's compressed form is computed from them.
    let values = histogram_values();
    let hists = run["histograms"]["weights"].as_array().unwrap();
    assert_eq!(hists.len(), 2);
    for (h, n) in hists.iter().zip([1000usize, 500]) {
        let v = &values[..n];
        assert_eq!(h["num"], json!(n as f64));
        assert_eq!(h["bucket_total"], json!(n as f64));
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((h["min"].as_f64(), h["max"].as_f64()), (Some(min), Some(max)));
        let sum: f64 = v.iter().sum();
        assert!((h["sum"].as_f64().unwrap() - sum).abs() < 1e-9);
        check_compressed(h, v);
    }
    let eq = &run["histograms"]["weights_eq"][0];
    assert_eq!(
        (&eq["num_buckets"], &eq["bucket_total"]),
        (&json!(30), &json!(1000.0))
    );
    check_compressed(eq, &values);

    // Text: a scalar string rendered as Markdown by the text plugin.
    let text = &run["texts"]["notes"][0];
    assert_eq!(text["text"], "**SISA** with `m = 4` nodes");
    assert_eq!(text["shape"], json!([]));
    let html = text["html"].as_str().unwrap();
    assert!(
        html.contains("<strong>SISA</strong>") && html.contains("<code>m = 4</code>"),
        "{html}"
    );

    // Hparams: the three plugin records in the `hp` run, and the metrics as its scalars.
    let ssi = &hp["hparams"]["_hparams_/session_start_info"]["session_start_info"]["hparams"];
    assert_eq!(
        ssi,
        &json!({"lr": 0.01, "optimizer": "sisa", "nesterov": true, "nodes": 4.0}),
        "google.protobuf.Value prints as plain JSON"
    );
    let end = &hp["hparams"]["_hparams_/session_end_info"]["session_end_info"];
    assert_eq!(end["status"], "STATUS_SUCCESS");
    assert_eq!(hp["scalars"]["hparam/accuracy"], json!([[0, f32_rounded(0.9)]]));

    // What the HPARAMS dashboard is served: the experiment and one session with its metrics.
    let exp = &tb["hparams_plugin"]["experiment"];
    let mut infos: Vec<(String, String)> = exp["hparam_infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_owned(),
                i["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    infos.sort();
    let want: Vec<(String, String)> = [
        ("lr", "DATA_TYPE_FLOAT64"),
        ("nesterov", "DATA_TYPE_BOOL"),
        ("nodes", "DATA_TYPE_FLOAT64"),
        ("optimizer", "DATA_TYPE_STRING"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(infos, want, "{exp}");
    let metric_tags: Vec<&str> = exp["metric_infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"]["tag"].as_str().unwrap())
        .collect();
    assert_eq!(metric_tags, ["hparam/accuracy", "hparam/loss"]);

    let groups = tb["hparams_plugin"]["session_groups"]["session_groups"]
        .as_array()
        .unwrap();
    assert_eq!(groups.len(), 1, "{}", tb["hparams_plugin"]);
    assert_eq!(groups[0]["hparams"], *ssi);
    let session = &groups[0]["sessions"][0];
    assert_eq!(session["name"], "hp");
    assert_eq!(session["status"], "STATUS_SUCCESS");
    let mut metrics: Vec<(String, f64)> = session["metric_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"]["tag"].as_str().unwrap().to_owned(),
                m["value"].as_f64().unwrap(),
            )
        })
        .collect();
    metrics.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        metrics,
        [
            ("hparam/accuracy".to_owned(), f32_rounded(0.9)),
            ("hparam/loss".to_owned(), f32_rounded(0.1))
        ]
    );
}

/// The other direction: a file written by TensorBoard's own Python writer and summary builders
/// (`read_back.py --write`) reads back in Rust with both CRCs checked, and TensorBoard's text
/// summary is exactly the one [`summaries::text`] builds.
#[test]
fn rust_reads_tensorboard_written_file() {
    let tmp = tempfile::tempdir().unwrap();
    run_script(&["--write".as_ref(), tmp.path().as_os_str()]);
    let files = event_files(tmp.path()).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let events = read_events(&files[0]).unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(events[0].what, Some(What::FileVersion(FILE_VERSION.into())));
    let summary = |i: usize| -> &Summary {
        let Some(What::Summary(s)) = &events[i].what else {
            panic!("event {i}: {:?}", events[i])
        };
        s
    };
    let steps: Vec<(i64, f64)> = events[1..].iter().map(|e| (e.step, e.wall_time)).collect();
    assert_eq!(steps, [(3, 1003.0), (4, 1004.0), (5, 1005.0), (0, 1000.0)]);

    assert_eq!(summary(1), &summaries::scalar("py/scalar", 0.5));
    assert_eq!(
        summary(2),
        &summaries::text("py/text", "hello **md**"),
        "tf.summary.text's layout"
    );
    let histo = HistogramProto {
        min: -1.0,
        max: 2.0,
        num: 3.0,
        sum: 1.5,
        sum_squares: 5.25,
        bucket_limit: vec![0.0, 2.5],
        bucket: vec![1.0, 2.0],
    };
    assert_eq!(summary(3).value[0].value, Some(V::Histo(histo)));

    let hp = &summary(4).value[0];
    assert_eq!(hp.tag, summaries::HPARAMS_SESSION_START_TAG);
    let pd = hp.metadata.as_ref().unwrap().plugin_data.as_ref().unwrap();
    assert_eq!(pd.plugin_name, summaries::HPARAMS_PLUGIN);
    let Some(Data::SessionStartInfo(ssi)) = HParamsPluginData::decode(&pd.content[..]).unwrap().data else {
        panic!("not a session start")
    };
    let kinds: Vec<(&str, &ValueKind)> = ssi
        .hparams
        .iter()
        .map(|(k, v)| (k.as_str(), v.kind.as_ref().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("flag", &ValueKind::BoolValue(true)),
            ("lr", &ValueKind::NumberValue(0.1)),
            ("opt", &ValueKind::StringValue("adam".into()))
        ]
    );
    assert_eq!(ssi.start_time_secs, 12.0);
}
