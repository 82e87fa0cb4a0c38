//! Keys: the typed key vector every part of the host passes around, and the
//! contract's order (natural for integers, IEEE-754 totalOrder for floats)
//! that the codec, the result check and the conformance checks all hold
//! a backend's output to.

use std::cmp::Ordering;
use wildhost_abi::KeyType;
use wildhost_abi::sdk::Key;

/// A typed array of keys.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyVec {
    /// `u32` keys.
    U32(Vec<u32>),
    /// `u64` keys.
    U64(Vec<u64>),
    /// `i32` keys.
    I32(Vec<i32>),
    /// `i64` keys.
    I64(Vec<i64>),
    /// `f32` keys.
    F32(Vec<f32>),
    /// `f64` keys.
    F64(Vec<f64>),
}

/// Runs `$body` with `$v` bound to the typed `Vec` inside a [`KeyVec`].
#[macro_export]
macro_rules! with_keys {
    ($keys:expr, $v:ident => $body:expr) => {
        match $keys {
            $crate::keys::KeyVec::U32($v) => $body,
            $crate::keys::KeyVec::U64($v) => $body,
            $crate::keys::KeyVec::I32($v) => $body,
            $crate::keys::KeyVec::I64($v) => $body,
            $crate::keys::KeyVec::F32($v) => $body,
            $crate::keys::KeyVec::F64($v) => $body,
        }
    };
}

impl KeyVec {
    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match self {
            KeyVec::U32(_) => KeyType::U32,
            KeyVec::U64(_) => KeyType::U64,
            KeyVec::I32(_) => KeyType::I32,
            KeyVec::I64(_) => KeyType::I64,
            KeyVec::F32(_) => KeyType::F32,
            KeyVec::F64(_) => KeyType::F64,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        with_keys!(self, v => v.len())
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys, if they are of type `T`.
    pub fn into_keys<T: 'static>(self) -> Option<Vec<T>> {
        let keys: Box<dyn std::any::Any> = match self {
            KeyVec::U32(v) => Box::new(v),
            KeyVec::U64(v) => Box::new(v),
            KeyVec::I32(v) => Box::new(v),
            KeyVec::I64(v) => Box::new(v),
            KeyVec::F32(v) => Box::new(v),
            KeyVec::F64(v) => Box::new(v),
        };
        keys.downcast::<Vec<T>>().ok().map(|keys| *keys)
    }
}

/// A key type in the contract's order.
pub trait SortKey: Key + Copy + PartialEq + Send + Sync + 'static {
    /// The key's bits, for exact comparison (NaN payloads and -0.0 count).
    fn bits(self) -> u64;
    /// The key whose bits are the low bits of `bits`: the inverse of
    /// [`SortKey::bits`].
    fn from_bits(bits: u64) -> Self;
    /// The contract's order: natural for integers, `total_cmp` for floats.
    fn order(a: &Self, b: &Self) -> Ordering;

    /// Sorts in the contract's order with `sort_unstable`: the reference.
    fn reference_sort(keys: &mut [Self]) {
        keys.sort_unstable_by(Self::order);
    }
}

macro_rules! int_key {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            fn bits(self) -> u64 {
                self as u64
            }
            fn from_bits(bits: u64) -> Self {
                bits as $t
            }
            fn order(a: &Self, b: &Self) -> Ordering {
                a.cmp(b)
            }
            fn reference_sort(keys: &mut [Self]) {
                keys.sort_unstable();
            }
        }
    )*};
}
int_key!(u32, u64, i32, i64);

macro_rules! float_key {
    ($($t:ident),*) => {$(
        impl SortKey for $t {
            fn bits(self) -> u64 {
                u64::from(self.to_bits())
            }
            fn from_bits(bits: u64) -> Self {
                $t::from_bits(bits as _)
            }
            fn order(a: &Self, b: &Self) -> Ordering {
                a.total_cmp(b)
            }
        }
    )*};
}
float_key!(f32, f64);
