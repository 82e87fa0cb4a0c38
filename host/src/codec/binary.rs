//! The binary format: the keys' raw little-endian bytes, decoded and
//! encoded a block at a time so that the integrity tally or check sees
//! each block while it is in the cache.

use super::{LeBytes, ParseError};
use crate::running::integrity::{BLOCK, OutputCheck, Tally};

macro_rules! le_bytes {
    ($($t:ty: $n:literal),*) => {$(
        impl LeBytes for $t {
            type Bytes = [u8; $n];
            #[inline(always)]
            fn from_le(bytes: [u8; $n]) -> Self {
                <$t>::from_le_bytes(bytes)
            }
            #[inline(always)]
            fn to_le(self) -> [u8; $n] {
                self.to_le_bytes()
            }
        }
    )*};
}
le_bytes!(u32: 4, u64: 8, i32: 4, i64: 8, f32: 4, f64: 8);

pub(super) fn decode<T: LeBytes>(
    input: &[u8],
    mut tally: Option<&mut Tally>,
) -> Result<Vec<T>, ParseError> {
    let size = size_of::<T>();
    let len = input.len() / size;
    let mut keys = crate::mem::try_with_capacity(len)
        .map_err(|_| ParseError::OutOfMemory { bytes: input.len() })?;
    let spare = &mut keys.spare_capacity_mut()[..len];
    for (chunk, slots) in input.chunks(BLOCK * size).zip(spare.chunks_mut(BLOCK)) {
        match tally.as_deref_mut() {
            #[cfg(target_endian = "little")]
            Some(tally) => tally.add_decoding(chunk, slots),
            _other => {
                for (bytes, slot) in chunk.chunks_exact(size).zip(slots.iter_mut()) {
                    let mut le = T::Bytes::default();
                    le.as_mut().copy_from_slice(bytes);
                    slot.write(T::from_le(le));
                }
                #[cfg(not(target_endian = "little"))]
                if let Some(tally) = _other {
                    // SAFETY: every slot of the block was just written.
                    tally.add(unsafe { slots.assume_init_ref() });
                }
            }
        }
    }
    // SAFETY: the loop wrote all `len` keys: the chunks of the input and of
    // the spare capacity pair up, BLOCK keys each, the last one shorter.
    unsafe { keys.set_len(len) };
    Ok(keys)
}

/// Appends `block` (at most [`BLOCK`] keys, after `prev`) in binary.
pub(super) fn encode<T: LeBytes>(
    block: &[T],
    prev: Option<T>,
    out: &mut Vec<u8>,
    check: Option<&mut OutputCheck>,
) {
    let size = size_of::<T>();
    let start = out.len();
    out.reserve(size_of_val(block));
    let dst = &mut out.spare_capacity_mut()[..size_of_val(block)];
    match check {
        #[cfg(target_endian = "little")]
        Some(check) => check.add_encoding(prev, block, dst),
        _other => {
            for (key, bytes) in block.iter().zip(dst.chunks_exact_mut(size)) {
                for (slot, &byte) in bytes.iter_mut().zip(key.to_le().as_ref()) {
                    slot.write(byte);
                }
            }
            #[cfg(not(target_endian = "little"))]
            if let Some(check) = _other {
                check.add(prev, block);
            }
        }
    }
    // SAFETY: the block's bytes after `start` were all just written.
    unsafe { out.set_len(start + size_of_val(block)) };
}

#[cfg(test)]
mod tests {
    use crate::codec::{parse_binary, write_binary};
    use crate::keys::KeyVec;
    use wildhost_abi::KeyType;

    #[test]
    fn binary_round_trips_bit_for_bit() {
        let values = vec![
            f32::from_bits(0x7fc0_0001),
            f32::from_bits(0xffc0_1234),
            -0.0,
            1.5,
        ];
        let mut bytes = Vec::new();
        write_binary(&KeyVec::F32(values.clone()), &mut bytes, None);
        let KeyVec::F32(back) = parse_binary(&bytes, KeyType::F32, None).unwrap() else {
            unreachable!()
        };
        assert_eq!(
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn binary_of_a_partial_key_is_an_error() {
        assert_eq!(
            parse_binary(&[0; 13], KeyType::U64, None)
                .unwrap_err()
                .to_string(),
            "the input is 13 bytes, not a whole number of 8-byte u64 keys"
        );
    }
}
