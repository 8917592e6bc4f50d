//! The event as it is written: a small tree of borrowed pieces, serialized in order.
//!
//! Values taken from the entry stay the bytes Slack sent ([`Out::Raw`]): a string keeps its
//! escapes, a number its spelling. Keys keep the order they were put in, so events read the
//! same way every time (classification, time, metadata, who, what, then `unmapped`).

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;

/// One value of the event.
#[derive(Clone)]
pub(crate) enum Out<'a> {
    /// A value of the entry, as Slack sent it.
    Raw(&'a RawValue),
    /// A string made by the mapping.
    Str(Cow<'a, str>),
    /// An integer made by the mapping.
    Int(i64),
    /// An object.
    Obj(Obj<'a>),
    /// An array.
    Arr(Vec<Out<'a>>),
}

impl<'a> Out<'a> {
    /// A constant string.
    pub(crate) fn text(s: &'static str) -> Out<'a> {
        Out::Str(Cow::Borrowed(s))
    }
}

/// An object whose keys keep their insertion order.
#[derive(Clone, Default)]
pub(crate) struct Obj<'a>(Vec<(Cow<'a, str>, Out<'a>)>);

impl<'a> Obj<'a> {
    pub(crate) fn with_capacity(n: usize) -> Obj<'a> {
        Obj(Vec::with_capacity(n))
    }

    /// Adds `key`.
    pub(crate) fn put(&mut self, key: &'static str, value: Out<'a>) {
        self.0.push((Cow::Borrowed(key), value));
    }

    /// Adds `key` if there is a value.
    pub(crate) fn put_some(&mut self, key: &'static str, value: Option<Out<'a>>) {
        if let Some(value) = value {
            self.put(key, value);
        }
    }

    /// Adds `key` if the object is not empty.
    pub(crate) fn put_obj(&mut self, key: &'static str, value: Obj<'a>) {
        if !value.is_empty() {
            self.put(key, Out::Obj(value));
        }
    }

    /// Adds a key taken from the entry.
    pub(crate) fn put_key(&mut self, key: Cow<'a, str>, value: Out<'a>) {
        self.0.push((key, value));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `key` was put.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// The value put at `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Out<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl Serialize for Out<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Out::Raw(raw) => raw.serialize(serializer),
            Out::Str(s) => serializer.serialize_str(s),
            Out::Int(n) => serializer.serialize_i64(*n),
            Out::Obj(obj) => obj.serialize(serializer),
            Out::Arr(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

impl Serialize for Obj<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
