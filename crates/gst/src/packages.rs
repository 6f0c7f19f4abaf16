//! The one table of which Debian package ships each GStreamer element we use, for the
//! "install …" hint of a missing element. Checked against the sources (every element
//! created anywhere has an entry, no entry is unused) and, where dpkg is present, against
//! the package that really owns the plugin file.

/// Element factory name → Debian package (Debian 12, GStreamer 1.22), sorted by package.
pub const PACKAGES: &[(&str, &str)] = &[
    // GStreamer core (libgstcoreelements).
    ("capsfilter", "libgstreamer1.0-0"),
    ("fakesink", "libgstreamer1.0-0"),
    ("filesink", "libgstreamer1.0-0"),
    ("identity", "libgstreamer1.0-0"),
    ("queue", "libgstreamer1.0-0"),
    ("tee", "libgstreamer1.0-0"),
    ("audioconvert", "gstreamer1.0-plugins-base"),
    ("audiomixer", "gstreamer1.0-plugins-base"),
    ("audioresample", "gstreamer1.0-plugins-base"),
    ("audiotestsrc", "gstreamer1.0-plugins-base"),
    ("compositor", "gstreamer1.0-plugins-base"),
    ("videoconvert", "gstreamer1.0-plugins-base"),
    ("videorate", "gstreamer1.0-plugins-base"),
    ("videoscale", "gstreamer1.0-plugins-base"),
    ("videotestsrc", "gstreamer1.0-plugins-base"),
    ("volume", "gstreamer1.0-plugins-base"),
    ("aacparse", "gstreamer1.0-plugins-good"),
    ("flvmux", "gstreamer1.0-plugins-good"),
    ("jpegenc", "gstreamer1.0-plugins-good"),
    ("level", "gstreamer1.0-plugins-good"),
    ("matroskamux", "gstreamer1.0-plugins-good"),
    ("pulsesrc", "gstreamer1.0-plugins-good"),
    ("v4l2src", "gstreamer1.0-plugins-good"),
    ("ximagesrc", "gstreamer1.0-plugins-good"),
    ("h264parse", "gstreamer1.0-plugins-bad"),
    ("mpegtsmux", "gstreamer1.0-plugins-bad"),
    ("nvh264enc", "gstreamer1.0-plugins-bad"),
    ("rtmp2sink", "gstreamer1.0-plugins-bad"),
    ("srtsink", "gstreamer1.0-plugins-bad"),
    ("srtsrc", "gstreamer1.0-plugins-bad"),
    ("tsdemux", "gstreamer1.0-plugins-bad"),
    ("voaacenc", "gstreamer1.0-plugins-bad"),
    ("x264enc", "gstreamer1.0-plugins-ugly"),
    ("avenc_aac", "gstreamer1.0-libav"),
    ("avenc_h264_omx", "gstreamer1.0-libav"),
    ("pipewiresrc", "gstreamer1.0-pipewire"),
    ("vaapih264enc", "gstreamer1.0-vaapi"),
];

/// Named for an element that is not in [`PACKAGES`] (none we create: a test checks).
pub const FALLBACK_PACKAGE: &str = "gstreamer1.0-plugins-base";

/// The Debian package that ships `element` (for the "install …" hint).
pub fn package_for(element: &str) -> &'static str {
    PACKAGES
        .iter()
        .find(|(e, _)| *e == element)
        .map_or(FALLBACK_PACKAGE, |(_, p)| p)
}

#[cfg(test)]
mod tests;
