//! Reading a fuzzer's bytes as a few fields.
//!
//! Fields are separated by a NUL byte rather than prefixed with a length, so that the
//! fuzzer's mutations (bytes inserted, removed, spliced) keep the other fields in place.

/// The bytes of one input, read front to back.
pub(crate) struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte; `0` once the input is spent.
    pub(crate) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((first, rest)) => {
                self.data = rest;
                *first
            }
            None => 0,
        }
    }

    /// The next two bytes as a number.
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// The bytes up to the next NUL (dropped), or to the end.
    pub(crate) fn field(&mut self) -> &'a [u8] {
        match self.data.iter().position(|byte| *byte == 0) {
            Some(at) => {
                let field = &self.data[..at];
                self.data = &self.data[at + 1..];
                field
            }
            None => std::mem::take(&mut self.data),
        }
    }

    /// The next field as text (invalid UTF-8 replaced).
    pub(crate) fn text(&mut self) -> String {
        String::from_utf8_lossy(self.field()).into_owned()
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}
