//! Reading one entry without copying it, and knowing which of its fields the event used.
//!
//! An entry is read as its top-level fields, each kept as the exact bytes Slack sent
//! ([`RawValue`]). A field the mapping uses is *taken*; an object the mapping looks inside is
//! *opened* (its own fields, taken or not). What was never taken is, by construction, what
//! goes under the event's `unmapped`, at the same path and byte for byte: no value of the
//! entry can be lost, whatever Slack adds, and no number is ever rounded through `f64`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::writer::{Obj, Out};

/// A JSON string, borrowed when it has no escapes.
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// The content of `raw` if it is a JSON string.
pub(crate) fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    if !raw.get().starts_with('"') {
        return None;
    }
    serde_json::from_str::<Text<'_>>(raw.get())
        .ok()
        .map(|t| t.0)
}

/// Whether `raw` is a JSON number.
pub(crate) fn is_number(raw: &RawValue) -> bool {
    raw.get()
        .as_bytes()
        .first()
        .is_some_and(|b| *b == b'-' || b.is_ascii_digit())
}

enum Slot<'a> {
    /// Not used by the event: goes under `unmapped`.
    Left,
    /// Carried by the event.
    Taken,
    /// An object the event looked inside.
    Opened(Fields<'a>),
}

struct Field<'a> {
    key: Cow<'a, str>,
    raw: &'a RawValue,
    slot: Slot<'a>,
}

/// The fields of one JSON object, in the order Slack sent them.
pub(crate) struct Fields<'a> {
    fields: Vec<Field<'a>>,
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    let raw: &'de RawValue = map.next_value()?;
                    fields.push(Field {
                        key,
                        raw,
                        slot: Slot::Left,
                    });
                }
                Ok(Fields { fields })
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

impl<'a> Fields<'a> {
    /// The fields of `json` if it is an object.
    pub(crate) fn parse(json: &'a [u8]) -> Option<Fields<'a>> {
        serde_json::from_slice(json).ok()
    }

    fn of(raw: &'a RawValue) -> Option<Fields<'a>> {
        if !raw.get().starts_with('{') {
            return None;
        }
        serde_json::from_str(raw.get()).ok()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.key == key)
    }

    /// The value of `key` as sent, whether the event uses it or not.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a RawValue> {
        self.position(key).map(|i| self.fields[i].raw)
    }

    /// The string value of `key`, whether the event uses it or not.
    pub(crate) fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.raw(key).and_then(text)
    }

    /// Takes `key` for the event if its value is still unused and passes `accept`.
    pub(crate) fn take_if(
        &mut self,
        key: &str,
        accept: impl FnOnce(&'a RawValue) -> bool,
    ) -> Option<&'a RawValue> {
        let field = self
            .fields
            .iter_mut()
            .find(|f| f.key == key && matches!(f.slot, Slot::Left))?;
        if !accept(field.raw) {
            return None;
        }
        field.slot = Slot::Taken;
        Some(field.raw)
    }

    /// Takes `key` if it is a non-empty string; returns it as sent (quotes and escapes).
    pub(crate) fn take_text(&mut self, key: &str) -> Option<&'a RawValue> {
        self.take_if(key, |raw| raw.get().starts_with('"') && raw.get() != "\"\"")
    }

    /// Takes `key` if it is a string whose content passes `accept`.
    pub(crate) fn take_text_if(
        &mut self,
        key: &str,
        accept: impl FnOnce(&str) -> bool,
    ) -> Option<&'a RawValue> {
        self.take_if(key, |raw| text(raw).is_some_and(|t| accept(&t)))
    }

    /// Opens the object at `key` to take some of its fields (the rest stays unmapped).
    pub(crate) fn open(&mut self, key: &str) -> Option<&mut Fields<'a>> {
        let field = self.fields.iter_mut().find(|f| f.key == key)?;
        if let Slot::Left = field.slot {
            field.slot = Slot::Opened(Fields::of(field.raw)?);
        }
        match &mut field.slot {
            Slot::Opened(inner) => Some(inner),
            _ => None,
        }
    }

    /// What the event did not use, as an object at the same paths, or `None` if it used all.
    pub(crate) fn rest(&self) -> Option<Obj<'a>> {
        let mut rest = Obj::with_capacity(4);
        for field in &self.fields {
            match &field.slot {
                Slot::Left => rest.put_key(field.key.clone(), Out::Raw(field.raw)),
                Slot::Taken => {}
                Slot::Opened(inner) => {
                    if let Some(inner) = inner.rest() {
                        rest.put_key(field.key.clone(), Out::Obj(inner));
                    }
                }
            }
        }
        (!rest.is_empty()).then_some(rest)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rest_of(fields: &Fields<'_>) -> String {
        fields
            .rest()
            .map(|o| serde_json::to_string(&Out::Obj(o)).unwrap())
            .unwrap_or_default()
    }

    #[test]
    fn what_is_not_taken_is_left_byte_for_byte() {
        let json = br#"{"a":"x","b":{"c":1.0e-3,"d":"\u00e9"},"n":123456789012345678901234567890}"#;
        let mut fields = Fields::parse(json).unwrap();
        assert_eq!(fields.take_text("a").unwrap().get(), r#""x""#);
        let b = fields.open("b").unwrap();
        assert!(b.take_text("c").is_none(), "a number is not a string");
        assert_eq!(b.take_text("d").unwrap().get(), r#""\u00e9""#);
        assert_eq!(
            rest_of(&fields),
            r#"{"b":{"c":1.0e-3},"n":123456789012345678901234567890}"#
        );
    }

    #[test]
    fn empty_strings_and_non_objects_are_not_taken() {
        let mut fields = Fields::parse(br#"{"e":"","o":[1]}"#).unwrap();
        assert!(fields.take_text("e").is_none());
        assert!(fields.open("o").is_none());
        assert_eq!(rest_of(&fields), r#"{"e":"","o":[1]}"#);
        assert!(Fields::parse(b"[1,2]").is_none());
    }

    #[test]
    fn strings_with_escapes_are_decoded_for_reading() {
        let fields = Fields::parse(br#"{"s":"caf\u00e9 \"x\""}"#).unwrap();
        assert_eq!(fields.str("s").unwrap(), "café \"x\"");
    }
}
