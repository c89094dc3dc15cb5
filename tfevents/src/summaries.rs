//! Builders of the [`Summary`] messages that TensorBoard's plugins read: scalars, PNG images,
//! histograms, Markdown text and hyperparameters.
//!
//! [`SummaryWriter`](crate::SummaryWriter)'s `add_*` methods use these; they are public so that
//! a caller can build a summary and write it with
//! [`SummaryWriter::add_summary`](crate::SummaryWriter::add_summary), or put several values in
//! one event.

use std::sync::OnceLock;

use prost::Message;

use crate::error::{Error, Result};
use crate::proto::hparams::{
    h_params_plugin_data::Data, Experiment, HParamDataType, HParamInfo, HParamsPluginData, MetricInfo,
    MetricName, SessionEndInfo, SessionStartInfo, Status,
};
use crate::proto::summary::{value::Value as V, Image, Value};
use crate::proto::{
    summary_metadata::PluginData, tensor_shape_proto, DataType, HistogramProto, ProtoValue, Summary,
    SummaryMetadata, TensorProto, TensorShapeProto, TextPluginData, ValueKind,
};

/// Plugin name of text summaries.
pub const TEXT_PLUGIN: &str = "text";
/// Plugin name of hyperparameter summaries.
pub const HPARAMS_PLUGIN: &str = "hparams";
/// Tag of the hparams plugin's experiment record.
pub const HPARAMS_EXPERIMENT_TAG: &str = "_hparams_/experiment";
/// Tag of the hparams plugin's session-start record.
pub const HPARAMS_SESSION_START_TAG: &str = "_hparams_/session_start_info";
/// Tag of the hparams plugin's session-end record.
pub const HPARAMS_SESSION_END_TAG: &str = "_hparams_/session_end_info";

fn one(value: Value) -> Summary {
    Summary { value: vec![value] }
}

fn plugin_metadata(plugin_name: &str, content: Vec<u8>) -> SummaryMetadata {
    SummaryMetadata {
        plugin_data: Some(PluginData {
            plugin_name: plugin_name.to_owned(),
            content,
        }),
        ..Default::default()
    }
}

/// A scalar (`simple_value`, which the format stores as f32), the form
/// `torch.utils.tensorboard` writes and TensorBoard's scalar dashboard reads.
pub fn scalar(tag: &str, value: f32) -> Summary {
    one(Value {
        tag: tag.to_owned(),
        metadata: None,
        value: Some(V::SimpleValue(value)),
    })
}

/// A PNG image from 8-bit pixels in row-major HWC order: `data[(y * width + x) * channels + c]`,
/// row `y = 0` at the top. `channels` is 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
///
/// # Errors
/// [`Error::InvalidImage`] if a dimension is zero or too large, `channels` is not 1–4, or
/// `data.len() != height * width * channels`; [`Error::Png`] if encoding fails.
pub fn image(tag: &str, data: &[u8], height: usize, width: usize, channels: usize) -> Result<Summary> {
    let invalid = |reason: String| Error::InvalidImage {
        tag: tag.to_owned(),
        reason,
    };
    let color = match channels {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        3 => png::ColorType::Rgb,
        4 => png::ColorType::Rgba,
        c => {
            return Err(invalid(format!(
                "{c} channels; expected 1 (gray), 2, 3 (RGB) or 4 (RGBA)"
            )))
        }
    };
    let (h, w) = match (i32::try_from(height), i32::try_from(width)) {
        (Ok(h), Ok(w)) if h > 0 && w > 0 => (h, w),
        _ => {
            return Err(invalid(format!(
                "size {height}x{width} (height x width) is empty or too large"
            )))
        }
    };
    let expected = height.checked_mul(width).and_then(|n| n.checked_mul(channels));
    if expected != Some(data.len()) {
        return Err(invalid(format!(
            "{} bytes for {height}x{width}x{channels} (height x width x channels, HWC)",
            data.len()
        )));
    }
    let png_err = |source| Error::Png {
        tag: tag.to_owned(),
        source,
    };
    let mut encoded = Vec::new();
    {
        // PNG's width is the row length: rows of `width` pixels, `height` of them, top first.
        let mut encoder = png::Encoder::new(&mut encoded, w as u32, h as u32);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(png_err)?;
        writer.write_image_data(data).map_err(png_err)?;
        writer.finish().map_err(png_err)?;
    }
    let img = Image {
        height: h,
        width: w,
        colorspace: channels as i32,
        encoded_image_string: encoded,
    };
    Ok(one(Value {
        tag: tag.to_owned(),
        metadata: None,
        value: Some(V::Image(img)),
    }))
}

/// How [`histogram`] places bucket edges.
///
/// TensorBoard re-bins every histogram for display, using `min`/`max` as the outer edges, so
/// both choices render; they differ in the resolution kept in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HistogramBins {
    /// TensorFlow's default buckets (`tensorflow/core/lib/histogram/histogram.cc`, also
    /// `torch.utils.tensorboard`'s `bins="tensorflow"`): edges ±1e-12·1.1ᵏ up to 1e20, 0 and
    /// ±f64::MAX; each bucket 10 % wider than the one before, so the relative resolution is the
    /// same at every magnitude. Runs of empty buckets are merged, as TensorFlow does.
    #[default]
    TensorFlow,
    /// `n` equal-width buckets from the smallest to the largest value (empty buckets kept).
    EqualWidth(usize),
}

/// TensorFlow's default bucket limits (right edges), ascending.
fn tensorflow_limits() -> &'static [f64] {
    static LIMITS: OnceLock<Vec<f64>> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let mut pos = Vec::new();
        let mut v = 1.0e-12;
        while v < 1.0e20 {
            pos.push(v);
            v *= 1.1;
        }
        pos.push(f64::MAX);
        let mut limits: Vec<f64> = pos.iter().rev().map(|v| -v).collect();
        limits.push(0.0);
        limits.extend(pos);
        limits
    })
}

/// The [`HistogramProto`] of `values`.
///
/// # Errors
/// [`Error::InvalidHistogram`] if `values` is empty or holds a NaN or infinity (TensorFlow
/// rejects those too), or for `EqualWidth(0)`.
pub fn histogram_proto<T: Copy + Into<f64>>(
    tag: &str,
    values: &[T],
    bins: HistogramBins,
) -> Result<HistogramProto> {
    let invalid = |reason: &str| Error::InvalidHistogram {
        tag: tag.to_owned(),
        reason: reason.to_owned(),
    };
    if values.is_empty() {
        return Err(invalid("no values"));
    }
    let (mut min, mut max, mut sum, mut sum_squares) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0);
    for &v in values {
        let v: f64 = v.into();
        if !v.is_finite() {
            return Err(invalid("values contain NaN or infinity"));
        }
        min = min.min(v);
        max = max.max(v);
        sum += v;
        sum_squares += v * v;
    }
    let (bucket_limit, bucket) = match bins {
        HistogramBins::TensorFlow => {
            let limits = tensorflow_limits();
            let mut counts = vec![0.0; limits.len()];
            for &v in values {
                // Bucket b holds limits[b-1] <= v < limits[b] (TensorFlow's upper_bound).
                let b = limits.partition_point(|&l| l <= v.into()).min(limits.len() - 1);
                counts[b] += 1.0;
            }
            // Merge each run of empty buckets into one, keeping the run's last limit
            // (`Histogram::EncodeToProto` with preserve_zero_buckets = false).
            let (mut out_limits, mut out_counts) = (Vec::new(), Vec::new());
            let mut i = 0;
            while i < counts.len() {
                let (mut end, mut count) = (limits[i], counts[i]);
                i += 1;
                if count <= 0.0 {
                    while i < counts.len() && counts[i] <= 0.0 {
                        (end, count) = (limits[i], counts[i]);
                        i += 1;
                    }
                }
                out_limits.push(end);
                out_counts.push(count);
            }
            (out_limits, out_counts)
        }
        HistogramBins::EqualWidth(0) => return Err(invalid("EqualWidth(0): need at least one bin")),
        HistogramBins::EqualWidth(_) if max == min => (vec![max], vec![values.len() as f64]),
        HistogramBins::EqualWidth(n) => {
            let width = (max - min) / n as f64;
            let mut limits: Vec<f64> = (1..=n).map(|i| min + i as f64 * width).collect();
            limits[n - 1] = max;
            let mut counts = vec![0.0; n];
            for &v in values {
                let v: f64 = v.into();
                let b = (((v - min) / width) as usize).min(n - 1);
                counts[b] += 1.0;
            }
            (limits, counts)
        }
    };
    Ok(HistogramProto {
        min,
        max,
        num: values.len() as f64,
        sum,
        sum_squares,
        bucket_limit,
        bucket,
    })
}

/// A histogram of `values`; see [`histogram_proto`].
///
/// # Errors
/// As [`histogram_proto`].
pub fn histogram<T: Copy + Into<f64>>(tag: &str, values: &[T], bins: HistogramBins) -> Result<Summary> {
    let histo = histogram_proto(tag, values, bins)?;
    Ok(one(Value {
        tag: tag.to_owned(),
        metadata: None,
        value: Some(V::Histo(histo)),
    }))
}

/// Markdown text for TensorBoard's text dashboard: a scalar `DT_STRING` tensor with plugin
/// `"text"` (as `tf.summary.text` writes it; TensorBoard renders a scalar as Markdown, and a
/// vector, which `torch.utils.tensorboard` writes, as a table). The tag is used as given.
pub fn text(tag: &str, markdown: &str) -> Summary {
    let tensor = TensorProto {
        dtype: DataType::DtString as i32,
        tensor_shape: Some(TensorShapeProto {
            dim: Vec::<tensor_shape_proto::Dim>::new(),
        }),
        string_val: vec![markdown.as_bytes().to_vec()],
        ..Default::default()
    };
    let metadata = plugin_metadata(TEXT_PLUGIN, TextPluginData { version: 0 }.encode_to_vec());
    one(Value {
        tag: tag.to_owned(),
        metadata: Some(metadata),
        value: Some(V::Tensor(tensor)),
    })
}

/// A hyperparameter's value.
#[derive(Clone, Debug, PartialEq)]
pub enum HParamValue {
    /// A number (integers are stored as f64, as in TensorBoard).
    Number(f64),
    /// A string.
    Text(String),
    /// A boolean.
    Bool(bool),
}

macro_rules! number_from {
    ($($t:ty),*) => {$(
        impl From<$t> for HParamValue {
            fn from(v: $t) -> Self {
                HParamValue::Number(v as f64)
            }
        }
    )*};
}
number_from!(f64, f32, i64, i32, u64, u32, usize);

impl From<bool> for HParamValue {
    fn from(v: bool) -> Self {
        HParamValue::Bool(v)
    }
}

impl From<&str> for HParamValue {
    fn from(v: &str) -> Self {
        HParamValue::Text(v.to_owned())
    }
}

impl From<String> for HParamValue {
    fn from(v: String) -> Self {
        HParamValue::Text(v)
    }
}

impl HParamValue {
    fn to_proto(&self) -> (ProtoValue, HParamDataType) {
        let (kind, ty) = match self {
            HParamValue::Number(x) => (ValueKind::NumberValue(*x), HParamDataType::DataTypeFloat64),
            HParamValue::Text(s) => (ValueKind::StringValue(s.clone()), HParamDataType::DataTypeString),
            HParamValue::Bool(b) => (ValueKind::BoolValue(*b), HParamDataType::DataTypeBool),
        };
        (ProtoValue { kind: Some(kind) }, ty)
    }
}

fn hparams_record(tag: &str, data: Data) -> Summary {
    let content = HParamsPluginData {
        version: 0,
        data: Some(data),
    }
    .encode_to_vec();
    one(Value {
        tag: tag.to_owned(),
        metadata: Some(plugin_metadata(HPARAMS_PLUGIN, content)),
        value: None,
    })
}

/// The three records of the hparams plugin, as `torch.utils.tensorboard.summary.hparams`
/// builds them: `[experiment, session start, session end (success)]`.
///
/// The experiment lists each hyperparameter with its type and each metric by tag (in the
/// session's own run); the session start holds the values. `time_secs` (seconds since the Unix
/// epoch) is recorded as the session's start and end time.
pub fn hparams(hparams: &[(String, HParamValue)], metric_tags: &[String], time_secs: f64) -> [Summary; 3] {
    let mut start = SessionStartInfo {
        start_time_secs: time_secs,
        ..Default::default()
    };
    let mut hparam_infos = Vec::with_capacity(hparams.len());
    for (name, value) in hparams {
        let (value, ty) = value.to_proto();
        start.hparams.insert(name.clone(), value);
        hparam_infos.push(HParamInfo {
            name: name.clone(),
            r#type: ty as i32,
            ..Default::default()
        });
    }
    let metric_infos = metric_tags
        .iter()
        .map(|tag| MetricInfo {
            name: Some(MetricName {
                group: String::new(),
                tag: tag.clone(),
            }),
            ..Default::default()
        })
        .collect();
    let experiment = Experiment {
        hparam_infos,
        metric_infos,
        ..Default::default()
    };
    let end = SessionEndInfo {
        status: Status::StatusSuccess as i32,
        end_time_secs: time_secs,
    };
    [
        hparams_record(HPARAMS_EXPERIMENT_TAG, Data::Experiment(experiment)),
        hparams_record(HPARAMS_SESSION_START_TAG, Data::SessionStartInfo(start)),
        hparams_record(HPARAMS_SESSION_END_TAG, Data::SessionEndInfo(end)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensorflow_limits_shape() {
        let l = tensorflow_limits();
        // 1e-12 * 1.1^k < 1e20 for k = 0..=773: 774 positive edges, mirrored, plus 0 and ±MAX.
        assert_eq!(l.len(), 2 * 775 + 1);
        assert!(l.windows(2).all(|w| w[0] < w[1]));
        assert_eq!((l[0], l[775], l[l.len() - 1]), (-f64::MAX, 0.0, f64::MAX));
        assert_eq!(l[776], 1e-12);
    }

    #[test]
    fn tensorflow_histogram_buckets() {
        // 0.0 falls in [0, 1e-12); 1.0 in the bucket whose right edge is the first edge > 1;
        // -1.0 in the bucket right-bounded by the first edge > -1.
        let h = histogram_proto("h", &[0.0, 1.0, 1.0, -1.0], HistogramBins::TensorFlow).unwrap();
        assert_eq!(
            (h.min, h.max, h.num, h.sum, h.sum_squares),
            (-1.0, 1.0, 4.0, 1.0, 3.0)
        );
        assert_eq!(h.bucket.iter().sum::<f64>(), 4.0);
        let l = tensorflow_limits();
        let edge_after = |v: f64| l[l.partition_point(|&x| x <= v)];
        let nonzero: Vec<(f64, f64)> = h
            .bucket_limit
            .iter()
            .zip(&h.bucket)
            .filter(|(_, &c)| c > 0.0)
            .map(|(&l, &c)| (l, c))
            .collect();
        assert_eq!(
            nonzero,
            vec![(edge_after(-1.0), 1.0), (1e-12, 1.0), (edge_after(1.0), 2.0)]
        );
        assert!(edge_after(1.0) > 1.0 && edge_after(1.0) < 1.1);
        // Empty runs merged: never two empty buckets in a row, and the last edge is MAX.
        assert!(h.bucket.windows(2).all(|w| w[0] > 0.0 || w[1] > 0.0));
        assert_eq!(*h.bucket_limit.last().unwrap(), f64::MAX);
        assert_eq!(h.bucket.len(), 7, "{:?}", h.bucket);
    }

    #[test]
    fn equal_width_histogram() {
        let v: Vec<f32> = vec![0.0, 0.5, 1.0, 2.5, 4.0];
        let h = histogram_proto("h", &v, HistogramBins::EqualWidth(4)).unwrap();
        assert_eq!(h.bucket_limit, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(h.bucket, vec![2.0, 1.0, 1.0, 1.0]);
        let same = histogram_proto("h", &[3.0, 3.0], HistogramBins::EqualWidth(5)).unwrap();
        assert_eq!((same.bucket_limit, same.bucket), (vec![3.0], vec![2.0]));
    }

    #[test]
    fn histogram_rejects_bad_input() {
        let empty: &[f64] = &[];
        for (vals, bins) in [
            (empty, HistogramBins::TensorFlow),
            (&[1.0, f64::NAN][..], HistogramBins::TensorFlow),
            (&[f64::INFINITY][..], HistogramBins::TensorFlow),
            (&[1.0][..], HistogramBins::EqualWidth(0)),
        ] {
            assert!(matches!(
                histogram_proto("h", vals, bins),
                Err(Error::InvalidHistogram { .. })
            ));
        }
    }

    #[test]
    fn image_rejects_bad_shapes() {
        assert!(image("i", &[0; 6], 2, 3, 1).is_ok());
        assert!(matches!(
            image("i", &[0; 5], 2, 3, 1),
            Err(Error::InvalidImage { .. })
        ));
        assert!(matches!(
            image("i", &[0; 30], 2, 3, 5),
            Err(Error::InvalidImage { .. })
        ));
        assert!(matches!(
            image("i", &[], 0, 3, 1),
            Err(Error::InvalidImage { .. })
        ));
    }
}
