//! Element creation in the builder style of `gst::ElementFactory::make(..).property(..).build()`,
//! with an error that names the element and the Debian package to install.

use gstreamer as gst;

use crate::packages::package_for;

/// Why an element could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ElementError {
    /// No such element factory is registered: its plugin is not installed.
    #[error("{element} is missing: install the Debian package {package}")]
    Missing {
        /// Element factory name, e.g. `x264enc`.
        element: String,
        /// Debian package that provides it (from [`crate::PACKAGES`]).
        package: &'static str,
        /// GStreamer's own error.
        #[source]
        source: gst::glib::BoolError,
    },
    /// The factory exists but its plugin could not be loaded or the element not made.
    #[error("{element} could not be created: {source}")]
    Create {
        /// Element factory name.
        element: String,
        /// GStreamer's own error.
        #[source]
        source: gst::glib::BoolError,
    },
}

/// An element being configured; [`ElementBuilder::build`] creates it.
#[must_use = "an element is only created by build()"]
pub struct ElementBuilder<'a> {
    factory: &'a str,
    inner: gst::element_factory::ElementBuilder<'a>,
}

/// Starts building an element from the factory `factory`, like
/// `gst::ElementFactory::make(factory)`.
pub fn make(factory: &str) -> ElementBuilder<'_> {
    ElementBuilder {
        factory,
        inner: gst::ElementFactory::make(factory),
    }
}

/// A `queue` that holds at most `max_buffers` buffers (no byte or time limit) and drops
/// the oldest when full (`leaky=downstream`): a slow consumer skips frames instead of
/// stalling the producer.
pub fn leaky_queue(max_buffers: u32) -> ElementBuilder<'static> {
    make("queue")
        .property_from_str("leaky", "downstream")
        .property("max-size-buffers", max_buffers)
        .property("max-size-bytes", 0u32)
        .property("max-size-time", 0u64)
}

impl<'a> ElementBuilder<'a> {
    /// Sets property `name` (panics at [`ElementBuilder::build`] if the element has no such
    /// property or it has another type, as GStreamer's builder does).
    pub fn property(self, name: &'a str, value: impl Into<gst::glib::Value> + 'a) -> Self {
        Self {
            inner: self.inner.property(name, value),
            ..self
        }
    }

    /// Sets property `name` when `value` is `Some`; leaves the element's default otherwise.
    pub fn property_if_some(
        self,
        name: &'a str,
        value: Option<impl Into<gst::glib::Value> + 'a>,
    ) -> Self {
        Self {
            inner: self.inner.property_if_some(name, value),
            ..self
        }
    }

    /// Sets property `name` from its string form (enums and flags by nick).
    pub fn property_from_str(self, name: &'a str, value: &'a str) -> Self {
        Self {
            inner: self.inner.property_from_str(name, value),
            ..self
        }
    }

    /// Names the element (its name in the pipeline and in bus messages).
    pub fn name(self, name: impl Into<gst::glib::GString>) -> Self {
        Self {
            inner: self.inner.name(name),
            ..self
        }
    }

    /// Creates the element with the given properties.
    pub fn build(self) -> Result<gst::Element, ElementError> {
        let factory = self.factory;
        self.inner.build().map_err(|source| {
            if gst::ElementFactory::find(factory).is_none() {
                ElementError::Missing {
                    element: factory.to_string(),
                    package: package_for(factory),
                    source,
                }
            } else {
                ElementError::Create {
                    element: factory.to_string(),
                    source,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use gstreamer::prelude::*;

    use super::*;
    use crate::FALLBACK_PACKAGE;

    fn init() {
        gst::init().expect("gstreamer init");
    }

    #[test]
    fn an_unknown_element_is_missing_with_the_fallback_package() {
        init();
        match make("no_such_element_x").build() {
            Err(
                ref e @ ElementError::Missing {
                    ref element,
                    package,
                    ref source,
                },
            ) => {
                assert_eq!(
                    (element.as_str(), package),
                    ("no_such_element_x", FALLBACK_PACKAGE)
                );
                assert!(source.to_string().contains("no_such_element_x"), "{source}");
                assert!(std::error::Error::source(e).is_some(), "source kept");
                assert_eq!(
                    e.to_string(),
                    format!(
                        "no_such_element_x is missing: install the Debian package {FALLBACK_PACKAGE}"
                    )
                );
            }
            other => panic!("expected Missing, got {other:?}"),
        }
    }

    #[test]
    fn properties_and_name_reach_the_element() {
        init();
        let e = make("identity")
            .name("probe")
            .property("datarate", 5i32)
            .property_from_str("sync", "true")
            .property_if_some("silent", Some(false))
            .property_if_some("dump", None::<bool>)
            .build()
            .expect("identity (GStreamer core)");
        assert_eq!(e.name(), "probe");
        assert_eq!(e.property::<i32>("datarate"), 5);
        assert!(e.property::<bool>("sync"));
        assert!(!e.property::<bool>("silent"), "Some sets");
        assert!(!e.property::<bool>("dump"), "None leaves the default");
    }

    #[test]
    fn the_leaky_queue_drops_old_buffers_and_bounds_only_the_count() {
        init();
        let q = leaky_queue(3).build().expect("queue (GStreamer core)");
        assert_eq!(q.property::<u32>("max-size-buffers"), 3);
        assert_eq!(q.property::<u32>("max-size-bytes"), 0);
        assert_eq!(q.property::<u64>("max-size-time"), 0);
        let leaky = q.property_value("leaky");
        let nick = gst::glib::EnumValue::from_value(&leaky).map(|(_, v)| v.nick());
        assert_eq!(nick, Some("downstream"));
    }
}
