#!/usr/bin/python3
"""Plays a DASH MPD with GStreamer and prints the playback position every 500 ms as JSON lines.

Usage: gst-position.py playbin|dashdemux <mpd-url> <seconds>
       gst-position.py --check   (prints the missing elements, exits 1 if any)

playbin:   playbin uri=<url> with fakesink sync=true video and audio sinks.
dashdemux: souphttpsrc location=<url> ! dashdemux, each source pad → queue ! decodebin ! fakesink sync=true.
Lines: {"type":"position","wallMs":…,"positionS":…} | {"type":"error"|"warning","message":…} |
{"type":"state","state":…} | {"type":"eos"} | {"type":"end"}.
"""
import json
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def fakesink(name):
    s = Gst.ElementFactory.make("fakesink", name)
    s.set_property("sync", True)
    return s


NEEDED = ["playbin", "souphttpsrc", "dashdemux", "decodebin", "queue", "fakesink", "qtdemux", "avdec_h264"]


def main():
    Gst.init(None)
    if sys.argv[1] == "--check":
        missing = [e for e in NEEDED if Gst.ElementFactory.find(e) is None]
        say({"type": "check", "version": Gst.version_string(), "missing": missing})
        sys.exit(1 if missing else 0)
    mode, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if mode == "playbin":
        pipeline = Gst.ElementFactory.make("playbin", "p")
        pipeline.set_property("uri", url)
        pipeline.set_property("video-sink", fakesink("vsink"))
        pipeline.set_property("audio-sink", fakesink("asink"))
    else:
        pipeline = Gst.Pipeline.new("p")
        src = Gst.ElementFactory.make("souphttpsrc", "src")
        src.set_property("location", url)
        demux = Gst.ElementFactory.make("dashdemux", "demux")
        pipeline.add(src)
        pipeline.add(demux)
        src.link(demux)

        def on_pad(_demux, pad):
            queue = Gst.ElementFactory.make("queue", None)
            dec = Gst.ElementFactory.make("decodebin", None)
            sink = fakesink(None)
            for e in (queue, dec, sink):
                pipeline.add(e)
            queue.link(dec)
            dec.connect("pad-added", lambda _d, p: p.link(sink.get_static_pad("sink")))
            for e in (queue, dec, sink):
                e.sync_state_with_parent()
            pad.link(queue.get_static_pad("sink"))
            say({"type": "pad", "caps": pad.get_current_caps().to_string() if pad.get_current_caps() else None})

        demux.connect("pad-added", on_pad)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()

    def on_message(_bus, msg):
        t = msg.type
        if t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            say({"type": "error", "message": f"{msg.src.get_name()}: {err.message}", "debug": dbg})
            loop.quit()
        elif t == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            say({"type": "warning", "message": f"{msg.src.get_name()}: {err.message}", "debug": dbg})
        elif t == Gst.MessageType.EOS:
            say({"type": "eos"})
            loop.quit()
        elif t == Gst.MessageType.STATE_CHANGED and msg.src == pipeline:
            _old, new, _pending = msg.parse_state_changed()
            say({"type": "state", "state": Gst.Element.state_get_name(new)})
        return True

    bus.connect("message", on_message)
    deadline = time.monotonic() + seconds

    def tick():
        ok, pos = pipeline.query_position(Gst.Format.TIME)
        say({"type": "position", "wallMs": time.time() * 1000, "positionS": pos / 1e9 if ok else None})
        if time.monotonic() >= deadline:
            loop.quit()
            return False
        return True

    GLib.timeout_add(500, tick)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    finally:
        pipeline.set_state(Gst.State.NULL)
        say({"type": "end"})


if __name__ == "__main__":
    main()
