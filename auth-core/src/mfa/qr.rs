//! QR codes as SVG, through the `qrcode` crate.

use qrcode::QrCode;
use qrcode::render::svg;

/// `data` as a QR code in an SVG document; empty if it is too long for one.
pub(crate) fn svg(data: &str) -> String {
    match QrCode::new(data.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_otpauth_uri_becomes_an_svg() {
        let out = super::svg("otpauth://totp/Accounts:a%40example.com?secret=GEZDGNBV");
        assert!(
            out.starts_with("<?xml") && out.contains("<svg"),
            "{out:.80}"
        );
    }
}
