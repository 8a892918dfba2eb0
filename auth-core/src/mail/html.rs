//! Escaping text for HTML.

/// `text` made safe to put in HTML, as element content or as a quoted attribute value:
/// `&`, `<`, `>`, `"` and `'` become character references.
///
/// Mail templates pass everything they interpolate into an HTML body through it: the app
/// name, addresses, links.
///
/// ```
/// use auth_core::escape_html;
/// assert_eq!(
///     escape_html(r#"<script>alert("hi")</script> & 'bye'"#),
///     "&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt; &amp; &#39;bye&#39;"
/// );
/// ```
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}
