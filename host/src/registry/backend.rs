//! A loaded module and its backends: the handles the rest of the host sorts
//! through. Calling a backend is the one place the host runs a plugin's
//! sort function.

use crate::crash::Culprit;
use crate::error::{MESSAGE_CAP, SortError, plugin_message};
use crate::keys::{KeyVec, SortKey};
use crate::loading::load::{Availability, LayoutCheck, LoadedFile, ModuleOrigin};
use crate::loading::validate::MethodDefinition;
use crate::message::{MessageBuffer, with_buffer};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use wildhost_abi::sdk::{Key, Payload};
use wildhost_abi::{
    KeyType, PayloadType, SortFn, SortOptions, SortPairsFn, SortWithFn, flags, status,
};

/// A loaded, validated plugin module.
#[derive(Debug, Serialize)]
pub struct Module {
    /// Module name.
    pub name: String,
    /// The module's own version.
    pub version: String,
    /// One line of documentation.
    pub doc: String,
    /// The file it was loaded from, as found on the search path;
    /// [`BUILT_IN_PATH`](crate::loading::builtin::BUILT_IN_PATH) for a
    /// built-in module (see [`Module::file`]).
    pub path: PathBuf,
    /// A file, or built in. Left out of JSON for a file, so a listing of
    /// files reads as it did before built-in modules.
    #[serde(skip_serializing_if = "ModuleOrigin::is_file")]
    pub origin: ModuleOrigin,
    /// ABI version it was built for.
    pub abi: (u16, u16),
    /// Compiled-in features.
    pub features: Vec<String>,
    /// What `init` said.
    pub availability: Availability,
    /// How the type layout was checked.
    pub layout: LayoutCheck,
}

impl Module {
    /// The module of a loaded file.
    pub(super) fn of(loaded: &LoadedFile) -> Module {
        let def = &loaded.definition;
        Module {
            name: def.name.clone(),
            version: def.version.clone(),
            doc: def.doc.clone(),
            path: loaded.path.clone(),
            origin: loaded.origin,
            abi: def.abi,
            features: def.features.clone(),
            availability: loaded.availability.clone(),
            layout: loaded.layout,
        }
    }
}

impl Module {
    /// The file the module was loaded from; `None` for a built-in module.
    pub fn file(&self) -> Option<&std::path::Path> {
        self.origin.is_file().then_some(self.path.as_path())
    }
}

/// A backend of a loaded module: cheap to clone, safe to share and call from
/// many threads.
#[derive(Clone, Debug)]
pub struct Backend {
    module: Arc<Module>,
    method: MethodDefinition,
    /// The key type bits it may be called with: its declared types if its
    /// module is available, else none.
    callable: u32,
    /// Its name and file, as a crash report during its sort gives them.
    culprit: Arc<Culprit>,
}

impl Backend {
    pub(super) fn new(module: &Arc<Module>, method: &MethodDefinition) -> Backend {
        let available = module.availability == Availability::Available;
        Backend {
            module: module.clone(),
            method: method.clone(),
            callable: if available { method.key_types } else { 0 },
            culprit: Arc::new(Culprit::new(&method.name, &module.path)),
        }
    }

    /// The backend's name.
    pub fn name(&self) -> &str {
        &self.method.name
    }
    /// Its module.
    pub fn module(&self) -> &Module {
        &self.module
    }
    /// One line of documentation.
    pub fn doc(&self) -> &str {
        &self.method.doc
    }
    /// The key types it declares.
    pub fn key_types(&self) -> impl Iterator<Item = KeyType> + '_ {
        KeyType::in_set(self.method.key_types)
    }
    /// Whether it declares `key_type`.
    pub fn supports(&self, key_type: KeyType) -> bool {
        self.method.key_types & key_type.bit() != 0
    }
    /// Whether equal keys keep their order: seen in a pairs sort, where
    /// equal keys keep their payloads in input order.
    pub fn is_stable(&self) -> bool {
        self.method.flags & flags::STABLE != 0
    }
    /// Whether it may use more than the calling thread.
    pub fn is_parallel(&self) -> bool {
        self.method.flags & flags::PARALLEL != 0
    }
    /// Declared scratch memory, in percent of the buffer.
    pub fn scratch_percent(&self) -> u32 {
        self.method.scratch_percent
    }
    /// Whether it has a pairs entry (ABI 1.1 `sort_pairs`): it sorts keys
    /// with a payload itself. [`Backend::sort_pairs`] may still sort pairs
    /// through one without (see there).
    pub fn supports_pairs(&self) -> bool {
        self.method.sort_pairs.is_some()
    }
    /// The payload types its pairs entry accepts; none without one.
    pub fn pairs_payloads(&self) -> impl Iterator<Item = PayloadType> + '_ {
        PayloadType::in_set(self.method.payload_types)
    }
    /// Whether it takes a thread count (ABI 1.2 `sort_with`): then
    /// [`Backend::sort_with_threads`] and [`Backend::sort_pairs_with_threads`]
    /// bound the threads it runs on. Without, they call its plain sorts.
    pub fn takes_threads(&self) -> bool {
        self.method.sort_with.is_some()
    }
    /// Whether it sorts from a source (ABI 1.3, `WILD_FLAG_FROM_SOURCE`):
    /// then [`Backend::sort_copy_with_threads`] hands it the keys where
    /// they are, and it writes them sorted into the output, with no copy
    /// first.
    pub fn sorts_from_source(&self) -> bool {
        self.method.flags & flags::FROM_SOURCE != 0 && self.method.sort_with.is_some()
    }
    /// Whether its module can run here.
    pub fn is_available(&self) -> bool {
        self.module.availability == Availability::Available
    }

    /// Sorts `keys` in place. Floats sort by IEEE-754 totalOrder.
    #[inline]
    pub fn sort<T: Key>(&self, keys: &mut [T]) -> Result<(), SortError> {
        if self.callable & T::TYPE.bit() == 0 {
            return self.not_callable(T::TYPE);
        }
        // The call's own result is one pointer wide, so the common case
        // moves no error value around: it is unboxed only on failure.
        self.call(keys).map_err(|error| *error)
    }

    /// [`Backend::sort`] on at most `threads` threads, the calling one
    /// included (0 is read as 1, more than `u32::MAX` as `u32::MAX`).
    ///
    /// A backend that [takes a thread count](Backend::takes_threads) gets
    /// it through its ABI 1.2 `sort_with`, also when it is 1: a parallel
    /// backend then stays on the calling thread. One without (every ABI
    /// 1.0 and 1.1 backend) is called through its `sort`, exactly as
    /// [`Backend::sort`] calls it: a serial backend runs on the calling
    /// thread anyway, and a parallel one of an older ABI cannot be bounded.
    /// The errors are [`Backend::sort`]'s.
    ///
    /// ```no_run
    /// use wildhost::{KeyType, Registry};
    ///
    /// let registry = Registry::discover_standard();
    /// let backend = registry.default_backend(KeyType::U64).expect("a backend");
    /// let mut keys = [3u64, 1, 2];
    /// // `wildhost sort --threads 4`: at most four threads for this call.
    /// backend.sort_with_threads(&mut keys, 4)?;
    /// assert_eq!(keys, [1, 2, 3]);
    /// # Ok::<(), wildhost::SortError>(())
    /// ```
    pub fn sort_with_threads<T: Key>(
        &self,
        keys: &mut [T],
        threads: usize,
    ) -> Result<(), SortError> {
        self.check_callable(T::TYPE)?;
        self.call_keys(keys, Some(thread_count(threads)))
            .map_err(|error| *error)
    }

    /// Sorts the keys of `source` into `out`, a sorted copy, on at most
    /// `threads` threads (as [`Backend::sort_with_threads`] reads them);
    /// `source` is not changed, and `out`'s contents on entry do not
    /// matter. A backend that [sorts from a source](Backend::sorts_from_source)
    /// reads `source` itself and saves the copy; any other gets `source`
    /// copied into `out` and sorts it there, exactly as
    /// [`Backend::sort_with_threads`] would. On an error `out` holds
    /// anything.
    ///
    /// Lengths that differ are [`SortError::CopyLengthMismatch`]; the
    /// backend is not called. The other errors are [`Backend::sort`]'s.
    ///
    /// ```no_run
    /// use wildhost::{KeyType, Registry};
    ///
    /// let registry = Registry::discover_standard();
    /// let backend = registry.default_backend(KeyType::F64).expect("a backend");
    /// let source = [2.5f64, -1.0, 0.0];
    /// let mut sorted = [0.0f64; 3];
    /// backend.sort_copy_with_threads(&source, &mut sorted, 2)?;
    /// assert_eq!(sorted, [-1.0, 0.0, 2.5]);
    /// # Ok::<(), wildhost::SortError>(())
    /// ```
    pub fn sort_copy_with_threads<T: Key>(
        &self,
        source: &[T],
        out: &mut [T],
        threads: usize,
    ) -> Result<(), SortError> {
        if source.len() != out.len() {
            return Err(SortError::CopyLengthMismatch {
                from: source.len(),
                into: out.len(),
            });
        }
        self.check_callable(T::TYPE)?;
        let threads = thread_count(threads);
        match self.method.sort_with {
            Some(sort_with) if self.sorts_from_source() && !source.is_empty() => {
                self.call_with(sort_with, out, None::<&mut [u32]>, Some(source), threads)
            }
            _ => {
                out.copy_from_slice(source);
                self.call_keys(out, Some(threads))
            }
        }
        .map_err(|error| *error)
    }

    /// [`Backend::sort_keys`] on at most `threads` threads, as
    /// [`Backend::sort_with_threads`] sorts.
    pub fn sort_keys_with_threads(
        &self,
        keys: &mut KeyVec,
        threads: usize,
    ) -> Result<(), SortError> {
        match keys {
            KeyVec::U32(v) => self.sort_with_threads(v, threads),
            KeyVec::U64(v) => self.sort_with_threads(v, threads),
            KeyVec::I32(v) => self.sort_with_threads(v, threads),
            KeyVec::I64(v) => self.sort_with_threads(v, threads),
            KeyVec::F32(v) => self.sort_with_threads(v, threads),
            KeyVec::F64(v) => self.sort_with_threads(v, threads),
        }
    }

    /// Sorts `keys` in place and moves `payload` with them: `keys[i]` and
    /// `payload[i]` stay together. Stable if the backend [is
    /// stable](Backend::is_stable), and always through the fallbacks below.
    ///
    /// A backend with a pairs entry sorts both itself. One without (every
    /// ABI 1.0 backend) sorts them through its key sort:
    /// - 32-bit keys, at most 2^32 of them, with a backend that sorts
    ///   `u64`: each key's order-preserving 32-bit image goes in the high
    ///   half of a `u64` and its position in the low half, the backend
    ///   sorts those, and keys and payload are put back in that order.
    /// - Any other keys: the backend sorts a copy of the keys, and each
    ///   payload value is placed after it, in input order, by a binary
    ///   search for its key among the sorted ones (slower: a search per
    ///   key, and a copy of the keys and of the payload beside them).
    ///
    /// Either way the result is sorted and stable whatever the backend.
    /// Lengths that differ are [`SortError::PairsLengthMismatch`]; the
    /// backend is not called.
    ///
    /// ```no_run
    /// use wildhost::{KeyType, Registry};
    ///
    /// let registry = Registry::discover_standard();
    /// let backend = registry.default_backend(KeyType::I64).expect("a backend");
    /// // An argsort: each key's position rides with it.
    /// let mut keys = [20i64, -3, 20, 7];
    /// let mut positions = [0u32, 1, 2, 3];
    /// backend.sort_pairs(&mut keys, &mut positions)?;
    /// assert_eq!(keys, [-3, 7, 20, 20]);
    /// assert_eq!(positions, [1, 3, 0, 2]);
    /// # Ok::<(), wildhost::SortError>(())
    /// ```
    pub fn sort_pairs<T: SortKey, P: Payload>(
        &self,
        keys: &mut [T],
        payload: &mut [P],
    ) -> Result<(), SortError> {
        self.sort_pairs_under(keys, payload, None)
    }

    /// [`Backend::sort_pairs`] on at most `threads` threads, the calling
    /// one included (read as [`Backend::sort_with_threads`] reads it).
    ///
    /// A backend that [takes a thread count](Backend::takes_threads) and
    /// has a pairs entry for the payload type sorts both through its ABI
    /// 1.2 `sort_with`; one that takes a thread count but has no pairs
    /// entry gets it in the key sort of the fallbacks of
    /// [`Backend::sort_pairs`]; any other is called exactly as
    /// [`Backend::sort_pairs`] calls it. The results and errors are
    /// [`Backend::sort_pairs`]'s.
    ///
    /// ```no_run
    /// use wildhost::{KeyType, Registry};
    ///
    /// let registry = Registry::discover_standard();
    /// let backend = registry.default_backend(KeyType::F64).expect("a backend");
    /// let mut keys = [2.5f64, -1.0, 2.5];
    /// let mut rows = [0u64, 1, 2];
    /// backend.sort_pairs_with_threads(&mut keys, &mut rows, 2)?;
    /// assert_eq!(rows, [1, 0, 2]);
    /// # Ok::<(), wildhost::SortError>(())
    /// ```
    pub fn sort_pairs_with_threads<T: SortKey, P: Payload>(
        &self,
        keys: &mut [T],
        payload: &mut [P],
        threads: usize,
    ) -> Result<(), SortError> {
        self.sort_pairs_under(keys, payload, Some(thread_count(threads)))
    }

    /// [`Backend::sort_pairs`], with the thread count of the call if there
    /// is one.
    fn sort_pairs_under<T: SortKey, P: Payload>(
        &self,
        keys: &mut [T],
        payload: &mut [P],
        threads: Option<u32>,
    ) -> Result<(), SortError> {
        if keys.len() != payload.len() {
            return Err(SortError::PairsLengthMismatch {
                keys: keys.len(),
                payload: payload.len(),
            });
        }
        match self.method.sort_pairs {
            Some(sort_pairs) if self.method.payload_types & P::TYPE.bit() != 0 => {
                self.check_callable(T::TYPE)?;
                match (self.method.sort_with, threads) {
                    (Some(sort_with), Some(threads)) => {
                        self.call_with(sort_with, keys, Some(payload), None, threads)
                    }
                    _ => self.call_pairs(sort_pairs, keys, payload),
                }
                .map_err(|error| *error)
            }
            _ => {
                let packable = T::TYPE.size() == 4
                    && u32::try_from(keys.len().saturating_sub(1)).is_ok()
                    && self.supports(KeyType::U64);
                if packable {
                    self.sort_pairs_packed(keys, payload, threads)
                } else {
                    self.sort_pairs_ranked(keys, payload, threads)
                }
            }
        }
    }

    /// [`Backend::sort_pairs`] through the backend's `u64` key sort.
    fn sort_pairs_packed<T: SortKey, P: Payload>(
        &self,
        keys: &mut [T],
        payload: &mut [P],
        threads: Option<u32>,
    ) -> Result<(), SortError> {
        self.check_callable(KeyType::U64)?;
        let mut packed: Vec<u64> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| u64::from(order_image(T::TYPE, k.bits() as u32)) << 32 | i as u64)
            .collect();
        self.call_keys(&mut packed, threads)
            .map_err(|error| *error)?;
        let original = payload.to_vec();
        for ((key, value), &p) in keys.iter_mut().zip(payload.iter_mut()).zip(&packed) {
            *key = T::from_bits(u64::from(from_order_image(T::TYPE, (p >> 32) as u32)));
            // The low half is a position below `len` (packed so above).
            *value = original.get(p as u32 as usize).copied().unwrap_or(*value);
        }
        Ok(())
    }

    /// [`Backend::sort_pairs`] through the backend's key sort of the keys'
    /// own type: the keys are sorted, then each payload value goes to the
    /// first free place among its key's equals. A result that is not the
    /// keys sorted (a key it lacks, too few of one) is
    /// [`SortError::KeySortWrong`], and `keys` and `payload` are left as
    /// they were.
    fn sort_pairs_ranked<T: SortKey, P: Payload>(
        &self,
        keys: &mut [T],
        payload: &mut [P],
        threads: Option<u32>,
    ) -> Result<(), SortError> {
        self.check_callable(T::TYPE)?;
        let mut sorted = keys.to_vec();
        self.call_keys(&mut sorted, threads)
            .map_err(|error| *error)?;
        let wrong = || SortError::KeySortWrong {
            backend: self.name().to_string(),
            module: self.module.name.clone(),
            abi: self.module.abi,
        };
        if sorted.len() != keys.len() || !sorted.is_sorted_by(|a, b| T::order(a, b).is_le()) {
            return Err(wrong());
        }
        // For each run of equal keys, indexed by where it starts: how many
        // of its places are taken.
        let mut taken = vec![0usize; sorted.len()];
        let mut placed = payload.to_vec();
        for (key, &value) in keys.iter().zip(payload.iter()) {
            // The start of the key's run; past the end if every sorted key
            // is smaller, as when the key went missing.
            let run = sorted.partition_point(|k| T::order(k, key).is_lt());
            let Some(taken) = taken.get_mut(run) else {
                return Err(wrong());
            };
            let at = run + *taken;
            match sorted.get(at) {
                Some(k) if T::order(k, key).is_eq() => placed[at] = value,
                _ => return Err(wrong()),
            }
            *taken += 1;
        }
        keys.copy_from_slice(&sorted);
        payload.copy_from_slice(&placed);
        Ok(())
    }

    /// Calls the plugin's pairs function; the key type is callable and
    /// the payload type declared.
    fn call_pairs<T: Key, P: Payload>(
        &self,
        sort_pairs: SortPairsFn,
        keys: &mut [T],
        payload: &mut [P],
    ) -> Result<(), Box<SortError>> {
        with_buffer(|message| {
            let running = self.culprit.enter();
            // SAFETY: the plugin is loaded for good and its definition
            // validated; `keys` and `payload` are live, exclusively borrowed
            // buffers of `len` keys and `len` values (checked by the caller)
            // of the types whose bits are passed, which the backend
            // declared; `message` has a page of writable bytes, all zeros,
            // more than `MESSAGE_CAP`. The ABI makes `sort_pairs` thread-safe.
            let code = unsafe {
                sort_pairs(
                    keys.as_mut_ptr().cast(),
                    payload.as_mut_ptr().cast(),
                    keys.len(),
                    T::TYPE.bit(),
                    P::TYPE.bit(),
                    message.as_mut_ptr().cast(),
                    MESSAGE_CAP,
                )
            };
            drop(running);
            if code == status::OK && message.untouched(MESSAGE_CAP) {
                return Ok(());
            }
            self.after_message(code, message)
        })
    }

    /// Calls the plugin's call with options (ABI 1.2) under `threads`, with
    /// `payload` or without, and with a `source` (ABI 1.3) or without; the
    /// key type is callable; with a payload, the payload type is the one
    /// declared for its pairs entry; with a source, there is no payload,
    /// the backend sorts from a source, and `source` is as long as `keys`.
    fn call_with<T: Key, P: Payload>(
        &self,
        sort_with: SortWithFn,
        keys: &mut [T],
        payload: Option<&mut [P]>,
        source: Option<&[T]>,
        threads: u32,
    ) -> Result<(), Box<SortError>> {
        let (payload, payload_type) = match payload {
            Some(payload) => (payload.as_mut_ptr().cast(), P::TYPE.bit()),
            None => (std::ptr::null_mut(), 0),
        };
        // Every field this host knows, `size` saying so; alive until the
        // call returns, as the ABI requires.
        let options = match source {
            Some(source) => SortOptions::from_source(threads, source.as_ptr().cast()),
            None => SortOptions::with_threads(threads),
        };
        with_buffer(|message| {
            let running = self.culprit.enter();
            // SAFETY: the plugin is loaded for good and its definition
            // validated; `keys` is a live, exclusively borrowed buffer of
            // `len` keys of the type whose bit is passed, which the backend
            // declared; `payload` is null with payload type 0, or (as the
            // caller checked) a live, exclusively borrowed buffer of `len`
            // values of the declared type whose bit is passed; `options` is
            // a live `SortOptions` of `size` bytes with `threads >= 1`, and
            // its `source` null, or (as the caller checked) a live, shared
            // buffer of `len` keys for a backend validated to take one
            // (`FROM_SOURCE` only beside `sort_with` in a 1.3 module),
            // apart from `keys`, which is borrowed exclusively; `message`
            // has a page of writable bytes, all zeros, more than
            // `MESSAGE_CAP`. The ABI makes `sort_with` thread-safe.
            let code = unsafe {
                sort_with(
                    keys.as_mut_ptr().cast(),
                    payload,
                    keys.len(),
                    T::TYPE.bit(),
                    payload_type,
                    &options,
                    message.as_mut_ptr().cast(),
                    MESSAGE_CAP,
                )
            };
            drop(running);
            if code == status::OK && message.untouched(MESSAGE_CAP) {
                return Ok(());
            }
            self.after_message(code, message)
        })
    }

    /// The key sort of a call: through `sort_with` under `threads` where
    /// the backend has it and the call has a thread count, else `sort`;
    /// [`Backend::check_callable`] passed.
    fn call_keys<T: Key>(
        &self,
        keys: &mut [T],
        threads: Option<u32>,
    ) -> Result<(), Box<SortError>> {
        match (self.method.sort_with, threads) {
            (Some(sort_with), Some(threads)) => {
                self.call_with(sort_with, keys, None::<&mut [u32]>, None, threads)
            }
            _ => self.call(keys),
        }
    }

    /// Sorts a [`KeyVec`] of any key type in place.
    pub fn sort_keys(&self, keys: &mut KeyVec) -> Result<(), SortError> {
        match keys {
            KeyVec::U32(v) => self.sort(v),
            KeyVec::U64(v) => self.sort(v),
            KeyVec::I32(v) => self.sort(v),
            KeyVec::I64(v) => self.sort(v),
            KeyVec::F32(v) => self.sort(v),
            KeyVec::F64(v) => self.sort(v),
        }
    }

    /// Whether the backend may be called with `key_type` keys: it declares
    /// the type and its module is available.
    #[inline]
    pub fn check_callable(&self, key_type: KeyType) -> Result<(), SortError> {
        // The common case in one test: declared, and the module available.
        if self.callable & key_type.bit() != 0 {
            return Ok(());
        }
        self.not_callable(key_type)
    }

    #[cold]
    #[inline(never)]
    fn not_callable(&self, key_type: KeyType) -> Result<(), SortError> {
        if !self.supports(key_type) {
            return Err(SortError::UnsupportedKeyType {
                backend: self.name().to_string(),
                key_type,
                supported: self
                    .key_types()
                    .map(KeyType::name)
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
        if let Availability::Unavailable(reason) = &self.module.availability {
            return Err(SortError::Unavailable {
                backend: self.name().to_string(),
                reason: reason.clone(),
            });
        }
        Ok(())
    }

    /// Calls the plugin's sort function; [`Backend::check_callable`] passed.
    #[inline]
    fn call<T: Key>(&self, keys: &mut [T]) -> Result<(), Box<SortError>> {
        let sort: SortFn = self.method.sort;
        with_buffer(|message| {
            let running = self.culprit.enter();
            // SAFETY: the plugin is loaded for good and its definition
            // validated; `keys` is a live, exclusively borrowed buffer of
            // `len` keys of the type whose bit is passed, which the backend
            // declared; `message` has a page of writable bytes, all zeros,
            // more than `MESSAGE_CAP`. The ABI makes `sort` thread-safe.
            let code = unsafe {
                sort(
                    keys.as_mut_ptr().cast(),
                    keys.len(),
                    T::TYPE.bit(),
                    message.as_mut_ptr().cast(),
                    MESSAGE_CAP,
                )
            };
            drop(running);
            if code == status::OK && message.untouched(MESSAGE_CAP) {
                return Ok(());
            }
            self.after_message(code, message)
        })
    }

    #[cold]
    #[inline(never)]
    fn after_message(
        &self,
        code: i32,
        message: &mut MessageBuffer<'_>,
    ) -> Result<(), Box<SortError>> {
        let past = message.written_past(MESSAGE_CAP);
        let text = plugin_message(message.message(MESSAGE_CAP));
        // Zeroed again for the next call: only a used buffer costs this.
        message.clear();
        if past > 0 {
            return Err(Box::new(SortError::MessageOverrun {
                backend: self.name().to_string(),
                past,
                cap: MESSAGE_CAP,
            }));
        }
        if code == status::OK {
            return Ok(());
        }
        Err(Box::new(SortError::Failed {
            backend: self.name().to_string(),
            code,
            message: text,
        }))
    }

    /// Calls the sort function on input it must refuse with a message,
    /// giving it `err_cap` bytes for the message: a key type it does not
    /// declare with no keys, or, if it declares them all, a null buffer of
    /// one key. For `wildhost verify`'s check that a backend keeps within
    /// its message capacity; run it in a child process, since the call is
    /// outside what the host ever does.
    /// Returns how many bytes it wrote past `err_cap`.
    pub(crate) fn probe_message_capacity(&self, err_cap: usize) -> usize {
        let (key_type, len, _) = self.probe_input();
        let sort: SortFn = self.method.sort;
        with_buffer(|message| {
            let err_cap = err_cap.min(MESSAGE_CAP);
            let running = self.culprit.enter();
            // SAFETY: the plugin is loaded and validated. The keys pointer
            // is null: with no keys, as the ABI allows; with one, the ABI
            // names the status for it (WILD_ERR_INVALID_ARGUMENT). The
            // message buffer has a page of writable bytes, more than
            // `err_cap`.
            unsafe {
                sort(
                    std::ptr::null_mut(),
                    len,
                    key_type,
                    message.as_mut_ptr().cast(),
                    err_cap,
                )
            };
            drop(running);
            let past = message.written_past(err_cap);
            message.clear();
            past
        })
    }

    /// The input [`Backend::probe_message_capacity`] gives, in words.
    pub(crate) fn probe_input_words(&self) -> &'static str {
        self.probe_input().2
    }

    /// The key type bit, the number of keys, and the words for them.
    fn probe_input(&self) -> (u32, usize, &'static str) {
        match KeyType::ALL.into_iter().find(|&k| !self.supports(k)) {
            Some(key_type) => (key_type.bit(), 0, "a key type it does not declare"),
            None => (
                // Its lowest declared type.
                self.method.key_types & self.method.key_types.wrapping_neg(),
                1,
                "a null key buffer of one key",
            ),
        }
    }
}

/// The thread count a `sort_with` call gets for `threads`: at least 1, at
/// most what the ABI's `u32` holds.
fn thread_count(threads: usize) -> u32 {
    u32::try_from(threads.max(1)).unwrap_or(u32::MAX)
}

/// The order-preserving image of a 32-bit key's bits: unsigned integers
/// order like the keys. Signed: the sign bit flipped. Floats (totalOrder):
/// every bit of a negative flipped, the sign bit of a positive.
fn order_image(key_type: KeyType, bits: u32) -> u32 {
    match key_type {
        KeyType::I32 => bits ^ 0x8000_0000,
        KeyType::F32 if bits >> 31 == 1 => !bits,
        KeyType::F32 => bits | 0x8000_0000,
        _ => bits,
    }
}

/// The inverse of [`order_image`].
fn from_order_image(key_type: KeyType, image: u32) -> u32 {
    match key_type {
        KeyType::I32 => image ^ 0x8000_0000,
        KeyType::F32 if image >> 31 == 1 => image & 0x7fff_ffff,
        KeyType::F32 => !image,
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_images_order_like_the_keys_and_invert() {
        let ints = [i32::MIN, -7, -1, 0, 1, 9, i32::MAX];
        let images: Vec<u32> = ints
            .iter()
            .map(|&k| order_image(KeyType::I32, k as u32))
            .collect();
        assert!(images.is_sorted(), "{images:?}");
        for (&k, &img) in ints.iter().zip(&images) {
            assert_eq!(from_order_image(KeyType::I32, img), k as u32);
        }
        let floats = [
            f32::from_bits(0xffc0_0001), // -NaN
            f32::NEG_INFINITY,
            -1.5,
            -f32::MIN_POSITIVE / 2.0,
            -0.0,
            0.0,
            f32::MIN_POSITIVE / 2.0,
            2.0,
            f32::INFINITY,
            f32::from_bits(0x7fc0_0001), // +NaN
        ];
        let images: Vec<u32> = floats
            .iter()
            .map(|k| order_image(KeyType::F32, k.to_bits()))
            .collect();
        assert!(images.is_sorted(), "{images:x?}");
        for (k, &img) in floats.iter().zip(&images) {
            assert_eq!(from_order_image(KeyType::F32, img), k.to_bits());
        }
        assert_eq!(order_image(KeyType::U32, 77), 77);
    }
}
