//! An element that is in the table but not installed: removed from GStreamer's registry in
//! this test process (its own binary, so no other test sees the removal).

use gstreamer as gst;

#[test]
fn an_uninstalled_element_is_missing_with_its_package_from_the_table() {
    gst::init().expect("gstreamer init");
    let registry = gst::Registry::get();
    if let Some(factory) = gst::ElementFactory::find("aacparse") {
        registry.remove_feature(&factory);
    }
    assert!(gst::ElementFactory::find("aacparse").is_none());
    let err = aethex_gst::make("aacparse")
        .build()
        .expect_err("aacparse was removed");
    match &err {
        aethex_gst::ElementError::Missing {
            element, package, ..
        } => assert_eq!(
            (element.as_str(), *package),
            ("aacparse", "gstreamer1.0-plugins-good")
        ),
        other => panic!("expected Missing, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "aacparse is missing: install the Debian package gstreamer1.0-plugins-good"
    );
}
