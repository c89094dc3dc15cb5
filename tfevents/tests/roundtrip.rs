//! Pure-Rust round trips: what the writer puts in a file, the reader gets back, byte for byte;
//! corruption and truncation are reported; the flush policy and the file naming hold.

use std::path::Path;
use std::time::Duration;

use prost::Message;
use tfevents::proto::event::What;
use tfevents::proto::hparams::{h_params_plugin_data::Data, HParamDataType, HParamsPluginData, Status};
use tfevents::proto::summary::value::Value as V;
use tfevents::proto::{DataType, Event, ValueKind};
use tfevents::{
    event_files, read_events, summaries, Error, HistogramBins, SummaryWriter, WriterOptions, FILE_VERSION,
};

/// The single summary value of an event: (tag, plugin name, payload).
fn value_of(e: &Event) -> (&str, Option<&str>, Option<&V>) {
    let Some(What::Summary(s)) = &e.what else {
        panic!("not a summary event: {e:?}")
    };
    assert_eq!(s.value.len(), 1);
    let v = &s.value[0];
    let plugin = v
        .metadata
        .as_ref()
        .and_then(|m| m.plugin_data.as_ref())
        .map(|p| p.plugin_name.as_str());
    (&v.tag, plugin, v.value.as_ref())
}

fn decode_png(bytes: &[u8]) -> (u32, u32, png::ColorType, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, info.color_type, buf)
}

/// A 2-row, 3-column RGB image whose every pixel says where it is: (row, column, 7).
fn non_square_rgb() -> Vec<u8> {
    let (h, w) = (2u8, 3u8);
    (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| [y * 100, x * 50, 7]))
        .collect()
}

fn only_file(dir: &Path) -> std::path::PathBuf {
    let files = event_files(dir).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

#[test]
fn every_kind_of_record_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("run");
    let mut w = SummaryWriter::new(&logdir).unwrap();
    w.add_scalar("loss", 0.5_f64, 1).unwrap();
    w.add_scalar("loss", 0.25_f32, 2).unwrap();
    let img = non_square_rgb();
    w.add_image("img", &img, 2, 3, 3, 3).unwrap();
    let gray: Vec<u8> = (0..12).collect(); // 4 rows x 3 columns
    w.add_image("gray", &gray, 4, 3, 1, 3).unwrap();
    w.add_histogram("w", &[1.0_f64, 2.0, 2.0, -3.5], 4).unwrap();
    w.add_histogram_with_bins("w_eq", &[0.0_f32, 1.0, 2.0, 3.0], HistogramBins::EqualWidth(3), 4)
        .unwrap();
    w.add_text("notes", "# Title\n*émphasis*", 5).unwrap();
    let hp_dir = w
        .add_hparams(
            [
                ("lr", 0.01.into()),
                ("opt", "sisa".into()),
                ("nesterov", true.into()),
                ("m", 4usize.into()),
            ],
            [("hparam/acc", 0.75)],
            Some("hp"),
        )
        .unwrap();
    assert_eq!(hp_dir, logdir.join("hp"));
    let path = w.file_path().to_path_buf();
    drop(w);

    let events = read_events(&path).unwrap();
    assert_eq!(events.len(), 8);
    assert_eq!(events[0].what, Some(What::FileVersion(FILE_VERSION.into())));
    assert!(events.windows(2).all(|p| p[0].wall_time <= p[1].wall_time));
    let steps: Vec<i64> = events.iter().map(|e| e.step).collect();
    assert_eq!(steps, [0, 1, 2, 3, 3, 4, 4, 5]);

    assert_eq!(value_of(&events[1]), ("loss", None, Some(&V::SimpleValue(0.5))));
    assert_eq!(value_of(&events[2]), ("loss", None, Some(&V::SimpleValue(0.25))));

    // Non-square image: width 3, height 2, pixels in the order given (no transposition).
    let (tag, _, Some(V::Image(im))) = value_of(&events[3]) else {
        panic!()
    };
    assert_eq!((tag, im.height, im.width, im.colorspace), ("img", 2, 3, 3));
    let (pw, ph, color, pixels) = decode_png(&im.encoded_image_string);
    assert_eq!((pw, ph, color), (3, 2, png::ColorType::Rgb));
    assert_eq!(pixels, img);
    assert_eq!(
        &pixels[(3 + 2) * 3..(3 + 2) * 3 + 3],
        &[100, 100, 7],
        "row 1, column 2"
    );
    let (_, _, Some(V::Image(g))) = value_of(&events[4]) else {
        panic!()
    };
    let (gw, gh, gcolor, gpix) = decode_png(&g.encoded_image_string);
    assert_eq!(
        (gw, gh, gcolor, g.colorspace),
        (3, 4, png::ColorType::Grayscale, 1)
    );
    assert_eq!(gpix, gray);

    let (_, _, Some(V::Histo(h))) = value_of(&events[5]) else {
        panic!()
    };
    let want = summaries::histogram_proto("w", &[1.0, 2.0, 2.0, -3.5], HistogramBins::TensorFlow).unwrap();
    assert_eq!(h, &want);
    assert_eq!(
        (h.min, h.max, h.num, h.sum, h.sum_squares),
        (-3.5, 2.0, 4.0, 1.5, 21.25)
    );
    let (_, _, Some(V::Histo(heq))) = value_of(&events[6]) else {
        panic!()
    };
    assert_eq!(
        (heq.bucket_limit.as_slice(), heq.bucket.as_slice()),
        (&[1.0, 2.0, 3.0][..], &[1.0, 1.0, 2.0][..])
    );

    let (tag, plugin, Some(V::Tensor(t))) = value_of(&events[7]) else {
        panic!()
    };
    assert_eq!(
        (tag, plugin, t.dtype),
        ("notes", Some("text"), DataType::DtString as i32)
    );
    assert_eq!(
        t.tensor_shape.as_ref().map(|s| s.dim.len()),
        Some(0),
        "a scalar string"
    );
    assert_eq!(t.string_val, vec!["# Title\n*émphasis*".as_bytes().to_vec()]);

    // The hparams run: experiment, session start, session end, then the metric as a scalar.
    let hp = read_events(only_file(&hp_dir)).unwrap();
    assert_eq!(hp.len(), 5);
    let content = |e: &Event| {
        let Some(What::Summary(s)) = &e.what else { panic!() };
        let pd = s.value[0]
            .metadata
            .as_ref()
            .unwrap()
            .plugin_data
            .as_ref()
            .unwrap();
        assert_eq!(pd.plugin_name, "hparams");
        assert!(s.value[0].value.is_none());
        let data = HParamsPluginData::decode(&pd.content[..]).unwrap();
        assert_eq!(data.version, 0);
        (s.value[0].tag.clone(), data.data.unwrap())
    };
    let (tag, Data::Experiment(exp)) = content(&hp[1]) else {
        panic!()
    };
    assert_eq!(tag, "_hparams_/experiment");
    let infos: Vec<(&str, i32)> = exp
        .hparam_infos
        .iter()
        .map(|i| (i.name.as_str(), i.r#type))
        .collect();
    assert_eq!(
        infos,
        [
            ("lr", HParamDataType::DataTypeFloat64 as i32),
            ("opt", HParamDataType::DataTypeString as i32),
            ("nesterov", HParamDataType::DataTypeBool as i32),
            ("m", HParamDataType::DataTypeFloat64 as i32),
        ]
    );
    assert_eq!(exp.metric_infos[0].name.as_ref().unwrap().tag, "hparam/acc");
    let (tag, Data::SessionStartInfo(ssi)) = content(&hp[2]) else {
        panic!()
    };
    assert_eq!(tag, "_hparams_/session_start_info");
    let kinds: Vec<(&str, &ValueKind)> = ssi
        .hparams
        .iter()
        .map(|(k, v)| (k.as_str(), v.kind.as_ref().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("lr", &ValueKind::NumberValue(0.01)),
            ("m", &ValueKind::NumberValue(4.0)),
            ("nesterov", &ValueKind::BoolValue(true)),
            ("opt", &ValueKind::StringValue("sisa".into())),
        ]
    );
    let (tag, Data::SessionEndInfo(sei)) = content(&hp[3]) else {
        panic!()
    };
    assert_eq!(
        (tag.as_str(), sei.status),
        ("_hparams_/session_end_info", Status::StatusSuccess as i32)
    );
    assert_eq!(
        value_of(&hp[4]),
        ("hparam/acc", None, Some(&V::SimpleValue(0.75)))
    );
}

#[test]
fn file_name_follows_tensorflow() {
    let tmp = tempfile::tempdir().unwrap();
    let a = SummaryWriter::new(tmp.path()).unwrap();
    let b = SummaryWriter::new(tmp.path()).unwrap();
    let name = a.file_path().file_name().unwrap().to_str().unwrap().to_owned();
    let parts: Vec<&str> = name.splitn(5, '.').collect();
    assert_eq!(&parts[..3], ["events", "out", "tfevents"]);
    let rest = parts[4];
    let secs: u64 = parts[3].parse().unwrap();
    assert_eq!(parts[3].len(), 10);
    assert!(secs > 1_600_000_000);
    let pid = std::process::id().to_string();
    let mut tail = rest.rsplitn(3, '.');
    let (counter, file_pid) = (tail.next().unwrap(), tail.next().unwrap());
    assert_eq!(file_pid, pid);
    assert!(counter.parse::<u64>().is_ok());
    assert_ne!(
        a.file_path(),
        b.file_path(),
        "two writers in one second get two files"
    );
    assert_eq!(event_files(tmp.path()).unwrap().len(), 2);
}

#[test]
fn flush_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let count = |w: &SummaryWriter| read_events(w.file_path()).unwrap().len();

    // Never by time, every 3 records.
    let opts = WriterOptions {
        flush_interval: Duration::from_secs(3600),
        max_pending_records: 3,
        ..Default::default()
    };
    let mut w = SummaryWriter::with_options(tmp.path().join("a"), opts).unwrap();
    assert_eq!(count(&w), 1, "the file_version event is flushed at once");
    w.add_scalar("x", 1.0, 0).unwrap();
    w.add_scalar("x", 2.0, 1).unwrap();
    assert_eq!(count(&w), 1, "two records still buffered");
    w.add_scalar("x", 3.0, 2).unwrap();
    assert_eq!(count(&w), 4, "third record flushes");
    w.add_scalar("x", 4.0, 3).unwrap();
    assert_eq!(count(&w), 4);
    w.flush().unwrap();
    assert_eq!(count(&w), 5, "explicit flush");
    w.add_scalar("x", 5.0, 4).unwrap();
    let path = w.file_path().to_path_buf();
    drop(w);
    assert_eq!(read_events(&path).unwrap().len(), 6, "drop flushes");

    // By time: an interval of zero flushes at every write.
    let opts = WriterOptions {
        flush_interval: Duration::ZERO,
        max_pending_records: 1000,
        ..Default::default()
    };
    let mut w = SummaryWriter::with_options(tmp.path().join("b"), opts).unwrap();
    w.add_scalar("x", 1.0, 0).unwrap();
    assert_eq!(count(&w), 2);
}

fn written_file(dir: &Path) -> Vec<u8> {
    let mut w = SummaryWriter::new(dir).unwrap();
    w.add_scalar("a", 1.0, 1).unwrap();
    w.add_text("t", "hello", 2).unwrap();
    let path = w.file_path().to_path_buf();
    drop(w);
    std::fs::read(path).unwrap()
}

#[test]
fn flipped_byte_is_a_crc_error() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = written_file(tmp.path());
    let path = tmp.path().join("corrupt.tfevents");
    // Every byte of the file, flipped in turn, is caught by one of the two CRCs.
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x20;
        std::fs::write(&path, &bad).unwrap();
        match read_events(&path) {
            Err(Error::BadCrc { path: p, .. }) => assert_eq!(p, path),
            other => panic!("byte {i}: expected BadCrc, got {other:?}"),
        }
    }
    let err = read_events(&path).unwrap_err().to_string();
    assert!(err.contains("corrupt.tfevents") && err.contains("CRC"), "{err}");
}

#[test]
fn truncated_file_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = written_file(tmp.path());
    let path = tmp.path().join("cut.tfevents");
    let full = read_events(event_files(tmp.path()).unwrap().remove(0)).unwrap();
    assert_eq!(full.len(), 3);
    for cut in 1..bytes.len() {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        match read_events(&path) {
            Err(Error::Truncated { path: p, .. }) => assert_eq!(p, path),
            Ok(evs) => {
                // Only a cut exactly between records reads cleanly, as a prefix.
                assert!(!evs.is_empty() && evs.len() < full.len(), "cut {cut}");
                assert_eq!(evs[..], full[..evs.len()]);
            }
            Err(e) => panic!("cut {cut}: {e}"),
        }
    }
    std::fs::write(&path, []).unwrap();
    assert_eq!(read_events(&path).unwrap(), vec![], "an empty file has no events");
}

#[test]
fn errors_name_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("a_file");
    std::fs::write(&blocker, "x").unwrap();
    let err = SummaryWriter::new(blocker.join("logs")).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path == &blocker.join("logs")),
        "{err:?}"
    );
    assert!(err.to_string().contains("a_file"), "{err}");

    let missing = tmp.path().join("nope.tfevents");
    assert!(matches!(read_events(&missing), Err(Error::Io { path, .. }) if path == missing));

    let mut w = SummaryWriter::new(tmp.path().join("run")).unwrap();
    for bad in ["", "../up", "/abs", "a/../b"] {
        let r = w.add_hparams([("x", 1.0.into())], [("m", 1.0)], Some(bad));
        assert!(matches!(r, Err(Error::InvalidRunName(_))), "{bad:?}");
    }
    assert!(matches!(
        w.add_image("i", &[0; 5], 2, 3, 1, 0),
        Err(Error::InvalidImage { .. })
    ));
    assert!(matches!(
        w.add_histogram::<f64>("h", &[], 0),
        Err(Error::InvalidHistogram { .. })
    ));
    // Nothing was written by the failed calls.
    drop(w);
    assert_eq!(read_events(only_file(&tmp.path().join("run"))).unwrap().len(), 1);
}
