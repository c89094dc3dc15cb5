"""Read a log directory written by the `tfevents` crate with TensorBoard's own code.

Usage: python read_back.py LOGDIR
       python read_back.py --write LOGDIR   (write an event file with TensorBoard's writer)

Loads every run (each directory holding event files) with TensorBoard's `EventAccumulator`
(size_guidance 0 = keep everything) and prints, as JSON on stdout, what TensorBoard found:

    {"tensorboard_version": "...",
     "runs": {"<run, relative to LOGDIR>": {
         "scalars":    {tag: [[step, value], ...]},
         "images":     {tag: [{"step", "width", "height", "png_size", "mode", "pixels"}]},
         "histograms": {tag: [{"step", "min", "max", "num", "sum", "sum_squares",
                               "bucket_total", "num_buckets", "rebinned"}]},
         "texts":      {tag: [{"step", "text", "shape", "html"}]},
         "hparams":    {tag: <HParamsPluginData as JSON>}}},
     "hparams_plugin": {"experiment": ..., "session_groups": ...}}

`hparams_plugin` is what TensorBoard's HPARAMS dashboard would be served: the plugin's own
handlers run on a data provider over LOGDIR. Exits with status 3 and a message if TensorBoard
is not importable. Needs no TensorFlow.
"""

import io
import json
import os
import sys


def fail(msg, code=3):
    print(msg, file=sys.stderr)
    sys.exit(code)


try:
    import numpy as np
    import tensorboard
    from google.protobuf import json_format
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.plugins.hparams import metadata as hp_metadata
    from tensorboard.plugins.hparams import plugin_data_pb2
    from tensorboard.plugins.text import text_plugin
    from tensorboard.util import tensor_util
except ImportError as e:  # pragma: no cover - exercised when the venv lacks tensorboard
    fail(f"tensorboard is not importable in {sys.executable} ({e})")

try:
    from PIL import Image
except ImportError:  # PIL is a tensorboard dependency, but don't insist on it
    Image = None

SIZE_GUIDANCE = {
    k: 0
    for k in (
        ea.COMPRESSED_HISTOGRAMS,
        ea.IMAGES,
        ea.AUDIO,
        ea.SCALARS,
        ea.HISTOGRAMS,
        ea.TENSORS,
    )
}


def png_header_size(data):
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def load_run(path):
    acc = ea.EventAccumulator(path, size_guidance=SIZE_GUIDANCE)
    acc.Reload()
    tags = acc.Tags()
    run = {"scalars": {}, "images": {}, "histograms": {}, "texts": {}, "hparams": {}}

    for tag in tags["scalars"]:
        run["scalars"][tag] = [[e.step, e.value] for e in acc.Scalars(tag)]

    for tag in tags["images"]:
        out = []
        for e in acc.Images(tag):
            data = e.encoded_image_string
            item = {"step": e.step, "width": e.width, "height": e.height, "png_size": list(png_header_size(data))}
            if Image is not None:
                im = Image.open(io.BytesIO(data))
                item["mode"] = im.mode
                # Pixels row by row, top row first, each a list of channel values.
                px = np.asarray(im)
                item["pixels"] = px.reshape(px.shape[0], px.shape[1], -1).tolist()
            out.append(item)
        run["images"][tag] = out

    for tag in tags["histograms"]:
        out = []
        for e in acc.Histograms(tag):
            h = e.histogram_value
            out.append(
                {
                    "step": e.step,
                    "min": h.min,
                    "max": h.max,
                    "num": h.num,
                    "sum": h.sum,
                    "sum_squares": h.sum_squares,
                    "bucket_total": float(sum(h.bucket)),
                    "num_buckets": len(h.bucket),
                }
            )
        # The compressed form TensorBoard derives (basis points of the distribution).
        comp = acc.CompressedHistograms(tag)
        for item, c in zip(out, comp):
            item["compressed_bps"] = [bp for bp, _ in c.compressed_histogram_values]
            item["compressed_values"] = [v for _, v in c.compressed_histogram_values]
        run["histograms"][tag] = out

    def plugin_tags(name):
        try:
            return acc.PluginTagToContent(name)
        except KeyError:  # no record of that plugin in this run
            return {}

    for tag in plugin_tags(text_plugin.metadata.PLUGIN_NAME):
        out = []
        for e in acc.Tensors(tag):
            arr = tensor_util.make_ndarray(e.tensor_proto)
            text = arr.item().decode("utf-8") if arr.shape == () else [x.decode("utf-8") for x in arr.flat]
            html = text_plugin.text_array_to_html(arr, enable_markdown=True)
            out.append({"step": e.step, "text": text, "shape": list(arr.shape), "html": html})
        run["texts"][tag] = out

    for tag, content in plugin_tags(hp_metadata.PLUGIN_NAME).items():
        msg = plugin_data_pb2.HParamsPluginData.FromString(content)
        run["hparams"][tag] = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    return run


def hparams_plugin_view(logdir):
    """Run the hparams plugin's own handlers, as the HPARAMS dashboard's requests would."""
    from tensorboard import context as tb_context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, get_experiment, list_session_groups

    mux = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"hparams": 0, "scalars": 0})
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, logdir)
    context = backend_context.Context(base_plugin.TBContext(logdir=logdir, multiplexer=mux, data_provider=provider))
    ctx = tb_context.RequestContext()
    exp = get_experiment.Handler(ctx, context, "", api_pb2.GetExperimentRequest()).run()
    # The dashboard asks for sessions of every status.
    statuses = [api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE, api_pb2.STATUS_RUNNING]
    request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100, allowed_statuses=statuses)
    groups = list_session_groups.Handler(ctx, context, "", request).run()
    as_dict = lambda m: json_format.MessageToDict(m, preserving_proto_field_name=True)  # noqa: E731
    return {"experiment": as_dict(exp), "session_groups": as_dict(groups)}


def write_with_tensorboard(logdir):
    """Write an event file with TensorBoard's own writer and summary builders (the other
    direction: the Rust reader must read it)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import summary_v2 as hparams_summary
    from tensorboard.plugins.text import summary_v2 as text_summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    w = EventFileWriter(logdir)
    scalar = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="py/scalar", simple_value=0.5)])
    histo = summary_pb2.HistogramProto(
        min=-1.0, max=2.0, num=3, sum=1.5, sum_squares=5.25, bucket_limit=[0.0, 2.5], bucket=[1.0, 2.0]
    )
    events = [
        (3, scalar),
        (4, text_summary.text_pb("py/text", "hello **md**")),
        (5, summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="py/histo", histo=histo)])),
        (0, hparams_summary.hparams_pb({"lr": 0.1, "opt": "adam", "flag": True}, start_time_secs=12.0)),
    ]
    for step, summary in events:
        w.add_event(event_pb2.Event(wall_time=1000.0 + step, step=step, summary=summary))
    w.close()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write_with_tensorboard(sys.argv[2])
        return
    if len(sys.argv) != 2:
        fail(__doc__, 2)
    logdir = sys.argv[1]
    runs = {}
    for dirpath, _, files in os.walk(logdir):
        if any("tfevents" in f for f in files):
            runs[os.path.relpath(dirpath, logdir)] = load_run(dirpath)
    result = {"tensorboard_version": tensorboard.__version__, "runs": runs}
    result["hparams_plugin"] = hparams_plugin_view(logdir)
    json.dump(result, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
