//! A loaded module and its backends: the handles the rest of the host sorts
//! through. Calling a backend is the one place the host runs a plugin's
//! sort function.

use crate::crash::Culprit;
use crate::error::{MESSAGE_CAP, SortError, plugin_message};
use crate::keys::KeyVec;
use crate::loading::load::{Availability, LayoutCheck, LoadedFile};
use crate::loading::validate::MethodDefinition;
use crate::message::{MessageBuffer, with_buffer};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use wildhost_abi::sdk::Key;
use wildhost_abi::{KeyType, SortFn, flags, status};

/// A loaded, validated plugin module.
#[derive(Debug, Serialize)]
pub struct Module {
    /// Module name.
    pub name: String,
    /// The module's own version.
    pub version: String,
    /// One line of documentation.
    pub doc: String,
    /// The file it was loaded from, as found on the search path.
    pub path: PathBuf,
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
            abi: def.abi,
            features: def.features.clone(),
            availability: loaded.availability.clone(),
            layout: loaded.layout,
        }
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
    /// Whether equal keys keep their order.
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
