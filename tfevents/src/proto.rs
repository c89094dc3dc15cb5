//! The protobuf messages of TensorBoard event files, declared with `prost` derive.
//!
//! Only the messages (and fields) this crate writes or reads are declared; prost skips unknown
//! fields when decoding, so files written by TensorFlow or PyTorch decode too (their extra
//! fields and `Event` kinds such as graphs are dropped).
//!
//! Field numbers are TensorBoard 2.21.0's, read from the descriptors of the `_pb2` modules that
//! the PyPI `tensorboard` wheel ships:
//! `tensorboard/compat/proto/{event,summary,histogram,tensor,tensor_shape,types}.proto` and
//! `tensorboard/plugins/{hparams/api,hparams/plugin_data,text/plugin_data}.proto`.
//! `google.protobuf.Value`, `Struct` and `ListValue` come from `prost-types`.

use std::collections::BTreeMap;

pub use prost_types::{value::Kind as ValueKind, ListValue, Struct, Value as ProtoValue};

/// One record of an event file (`tensorboard.Event`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch when the event was written.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// Global step of the event.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// What the event carries.
    #[prost(oneof = "event::What", tags = "3, 5")]
    pub what: Option<event::What>,
}

/// Nested types of [`Event`].
pub mod event {
    /// The payload of an [`Event`](super::Event) (`oneof what`).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum What {
        /// File format version; the first event of every file is `"brain.Event:2"`.
        #[prost(string, tag = "3")]
        FileVersion(String),
        /// A set of summary values.
        #[prost(message, tag = "5")]
        Summary(super::Summary),
    }
}

/// A set of tagged values (`tensorboard.Summary`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<summary::Value>,
}

/// Nested types of [`Summary`].
pub mod summary {
    /// An encoded image (`tensorboard.Summary.Image`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Image {
        /// Height in pixels.
        #[prost(int32, tag = "1")]
        pub height: i32,
        /// Width in pixels.
        #[prost(int32, tag = "2")]
        pub width: i32,
        /// 1 grayscale, 2 grayscale + alpha, 3 RGB, 4 RGBA.
        #[prost(int32, tag = "3")]
        pub colorspace: i32,
        /// The PNG (or JPEG) file's bytes.
        #[prost(bytes = "vec", tag = "4")]
        pub encoded_image_string: Vec<u8>,
    }

    /// One tagged value (`tensorboard.Summary.Value`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Value {
        /// The tag (series name) shown by TensorBoard.
        #[prost(string, tag = "1")]
        pub tag: String,
        /// Which plugin owns the value and its plugin-specific data.
        #[prost(message, optional, tag = "9")]
        pub metadata: Option<super::SummaryMetadata>,
        /// The value itself (`oneof value`); `None` for the hparams plugin's records, which
        /// carry everything in `metadata`.
        #[prost(oneof = "value::Value", tags = "2, 4, 5, 8")]
        pub value: Option<value::Value>,
    }

    /// Nested types of [`Value`].
    pub mod value {
        /// The payload of a summary [`Value`](super::Value) (`oneof value`).
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            /// A scalar, stored as `float` (f32) by the format.
            #[prost(float, tag = "2")]
            SimpleValue(f32),
            /// An encoded image.
            #[prost(message, tag = "4")]
            Image(super::Image),
            /// A histogram.
            #[prost(message, tag = "5")]
            Histo(super::super::HistogramProto),
            /// A tensor (text, new-style scalars, ...).
            #[prost(message, tag = "8")]
            Tensor(super::super::TensorProto),
        }
    }
}

/// Which plugin a summary value belongs to (`tensorboard.SummaryMetadata`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    /// The plugin's name and its serialized data.
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<summary_metadata::PluginData>,
    /// Display name (optional).
    #[prost(string, tag = "2")]
    pub display_name: String,
    /// Longer description (optional).
    #[prost(string, tag = "3")]
    pub summary_description: String,
    /// Data class, a [`DataClass`] as `i32`.
    #[prost(enumeration = "DataClass", tag = "4")]
    pub data_class: i32,
}

/// Nested types of [`SummaryMetadata`].
pub mod summary_metadata {
    /// A plugin's name and its data (`tensorboard.SummaryMetadata.PluginData`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PluginData {
        /// The plugin's name: `"text"`, `"hparams"`, ...
        #[prost(string, tag = "1")]
        pub plugin_name: String,
        /// Plugin-specific content, usually a serialized protobuf message.
        #[prost(bytes = "vec", tag = "2")]
        pub content: Vec<u8>,
    }
}

/// `tensorboard.DataClass`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DataClass {
    /// Not set.
    Unknown = 0,
    /// A scalar time series.
    Scalar = 1,
    /// A tensor time series.
    Tensor = 2,
    /// A sequence of blobs (images, audio).
    BlobSequence = 3,
}

/// A histogram (`tensorboard.HistogramProto`): bucket `i` counts the values in
/// `[bucket_limit[i-1], bucket_limit[i])`, the first one from `min`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramProto {
    /// Smallest value.
    #[prost(double, tag = "1")]
    pub min: f64,
    /// Largest value.
    #[prost(double, tag = "2")]
    pub max: f64,
    /// Number of values.
    #[prost(double, tag = "3")]
    pub num: f64,
    /// Sum of the values.
    #[prost(double, tag = "4")]
    pub sum: f64,
    /// Sum of the squared values.
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    /// Right edge of each bucket (packed).
    #[prost(double, repeated, tag = "6")]
    pub bucket_limit: Vec<f64>,
    /// Count of each bucket (packed).
    #[prost(double, repeated, tag = "7")]
    pub bucket: Vec<f64>,
}

/// A tensor (`tensorboard.TensorProto`); only the fields used for text and scalars.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// Element type, a [`DataType`] as `i32`.
    #[prost(enumeration = "DataType", tag = "1")]
    pub dtype: i32,
    /// Shape; no dimensions means a scalar.
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    /// Raw little-endian element bytes (alternative to the typed `*_val` fields).
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    /// `DT_FLOAT` elements.
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    /// `DT_DOUBLE` elements.
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
    /// `DT_STRING` elements (bytes, UTF-8 for text).
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
}

/// A tensor shape (`tensorboard.TensorShapeProto`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions, outermost first.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<tensor_shape_proto::Dim>,
}

/// Nested types of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// One dimension (`tensorboard.TensorShapeProto.Dim`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dim {
        /// Size of the dimension.
        #[prost(int64, tag = "1")]
        pub size: i64,
    }
}

/// `tensorboard.DataType` (the values used here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DataType {
    /// Not set.
    DtInvalid = 0,
    /// 32-bit float.
    DtFloat = 1,
    /// 64-bit float.
    DtDouble = 2,
    /// Byte strings.
    DtString = 7,
}

/// `tensorboard.TextPluginData`, the content of the `"text"` plugin's metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TextPluginData {
    /// Format version, 0.
    #[prost(int32, tag = "1")]
    pub version: i32,
}

/// Messages of the hparams plugin (`tensorboard.hparams`, plugin name `"hparams"`).
pub mod hparams {
    use super::{BTreeMap, ListValue, ProtoValue};

    /// The content of each hparams plugin record (`tensorboard.hparams.HParamsPluginData`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HParamsPluginData {
        /// Format version, 0.
        #[prost(int32, tag = "1")]
        pub version: i32,
        /// What the record carries (`oneof data`).
        #[prost(oneof = "h_params_plugin_data::Data", tags = "2, 3, 4")]
        pub data: Option<h_params_plugin_data::Data>,
    }

    /// Nested types of [`HParamsPluginData`].
    pub mod h_params_plugin_data {
        /// The payload of [`HParamsPluginData`](super::HParamsPluginData) (`oneof data`).
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Data {
            /// The experiment: which hyperparameters and metrics exist.
            #[prost(message, tag = "2")]
            Experiment(super::Experiment),
            /// A session's hyperparameter values, at its start.
            #[prost(message, tag = "3")]
            SessionStartInfo(super::SessionStartInfo),
            /// A session's end and status.
            #[prost(message, tag = "4")]
            SessionEndInfo(super::SessionEndInfo),
        }
    }

    /// `tensorboard.hparams.Experiment`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Experiment {
        /// Name (optional).
        #[prost(string, tag = "6")]
        pub name: String,
        /// Description (optional).
        #[prost(string, tag = "1")]
        pub description: String,
        /// User (optional).
        #[prost(string, tag = "2")]
        pub user: String,
        /// Creation time, seconds since the Unix epoch (optional).
        #[prost(double, tag = "3")]
        pub time_created_secs: f64,
        /// The hyperparameters.
        #[prost(message, repeated, tag = "4")]
        pub hparam_infos: Vec<HParamInfo>,
        /// The metrics.
        #[prost(message, repeated, tag = "5")]
        pub metric_infos: Vec<MetricInfo>,
    }

    /// `tensorboard.hparams.HParamInfo`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HParamInfo {
        /// Name, the key in [`SessionStartInfo::hparams`].
        #[prost(string, tag = "1")]
        pub name: String,
        /// Display name (optional).
        #[prost(string, tag = "2")]
        pub display_name: String,
        /// Description (optional).
        #[prost(string, tag = "3")]
        pub description: String,
        /// Value type, an [`HParamDataType`] as `i32`.
        #[prost(enumeration = "HParamDataType", tag = "4")]
        pub r#type: i32,
        /// The discrete set of values it takes, if known (`domain_discrete` of `oneof domain`;
        /// `domain_interval`, tag 6, is not declared here).
        #[prost(message, optional, tag = "5")]
        pub domain_discrete: Option<ListValue>,
    }

    /// `tensorboard.hparams.MetricInfo`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricInfo {
        /// Which scalar series holds the metric.
        #[prost(message, optional, tag = "1")]
        pub name: Option<MetricName>,
        /// Display name (optional).
        #[prost(string, tag = "3")]
        pub display_name: String,
        /// Description (optional).
        #[prost(string, tag = "4")]
        pub description: String,
    }

    /// `tensorboard.hparams.MetricName`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricName {
        /// Run of the scalar, relative to the session's run ("" = the session's run).
        #[prost(string, tag = "1")]
        pub group: String,
        /// Tag of the scalar.
        #[prost(string, tag = "2")]
        pub tag: String,
    }

    /// `tensorboard.hparams.SessionStartInfo`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SessionStartInfo {
        /// Hyperparameter values by name (`map<string, google.protobuf.Value>`).
        #[prost(btree_map = "string, message", tag = "1")]
        pub hparams: BTreeMap<String, ProtoValue>,
        /// Model URI (optional).
        #[prost(string, tag = "2")]
        pub model_uri: String,
        /// Monitor URL (optional).
        #[prost(string, tag = "3")]
        pub monitor_url: String,
        /// Session group (optional; sessions with equal hparams form a group by default).
        #[prost(string, tag = "4")]
        pub group_name: String,
        /// Start time, seconds since the Unix epoch.
        #[prost(double, tag = "5")]
        pub start_time_secs: f64,
    }

    /// `tensorboard.hparams.SessionEndInfo`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SessionEndInfo {
        /// How the session ended, a [`Status`] as `i32`.
        #[prost(enumeration = "Status", tag = "1")]
        pub status: i32,
        /// End time, seconds since the Unix epoch.
        #[prost(double, tag = "2")]
        pub end_time_secs: f64,
    }

    /// `tensorboard.hparams.DataType`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum HParamDataType {
        /// Not set.
        DataTypeUnset = 0,
        /// A string.
        DataTypeString = 1,
        /// A boolean.
        DataTypeBool = 2,
        /// A number.
        DataTypeFloat64 = 3,
    }

    /// `tensorboard.hparams.Status`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Status {
        /// Unknown.
        StatusUnknown = 0,
        /// Finished successfully.
        StatusSuccess = 1,
        /// Failed.
        StatusFailure = 2,
        /// Still running.
        StatusRunning = 3,
    }
}
