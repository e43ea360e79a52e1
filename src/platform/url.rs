//! Links: what a CTA button or a media header may point at.

/// Whether `text` is an absolute `http` or `https` URL with a host, as the
/// WhatsApp Cloud API requires of a `cta_url` button's `url` (§2.1).
///
/// ```
/// use kflow::platform::url::is_absolute_http;
/// assert!(is_absolute_http("https://www.example.com/book?x=1"));
/// assert!(!is_absolute_http("www.example.com/book"));
/// assert!(!is_absolute_http("mailto:team@example.com"));
/// ```
pub fn is_absolute_http(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}
