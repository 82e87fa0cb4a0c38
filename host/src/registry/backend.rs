//! A loaded module and its backends: the handles the rest of the host sorts
//! through. Calling a backend is the one place the host runs a plugin's
//! sort function.

use crate::error::{MESSAGE_CAP, SortError, plugin_message};
use crate::keys::KeyVec;
use crate::loading::load::{Availability, LayoutCheck, LoadedFile};
use crate::loading::validate::MethodDefinition;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use wildhost_abi::sdk::Key;
use wildhost_abi::{KeyType, SortFn, flags, status};

thread_local! {
    /// Each thread's message buffer, all zeros between calls, so that a
    /// sort does not pay for zeroing 512 bytes it almost never uses.
    static MESSAGE: std::cell::RefCell<[u8; MESSAGE_CAP]> =
        const { std::cell::RefCell::new([0; MESSAGE_CAP]) };
}

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
}

impl Backend {
    pub(super) fn new(module: &Arc<Module>, method: &MethodDefinition) -> Backend {
        let available = module.availability == Availability::Available;
        Backend {
            module: module.clone(),
            method: method.clone(),
            callable: if available { method.key_types } else { 0 },
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
        MESSAGE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut message) => self.call_with(keys, &mut message),
            // A sort called from inside a sort on this thread (a plugin
            // calling back into a host) gets a buffer of its own.
            Err(_) => self.call_with(keys, &mut [0; MESSAGE_CAP]),
        })
    }

    /// Calls the plugin with `message`, all zeros, for its error message;
    /// leaves it all zeros again.
    #[inline]
    fn call_with<T: Key>(
        &self,
        keys: &mut [T],
        message: &mut [u8; MESSAGE_CAP],
    ) -> Result<(), Box<SortError>> {
        let sort: SortFn = self.method.sort;
        // SAFETY: the plugin is loaded for good and its definition
        // validated; `keys` is a live, exclusively borrowed buffer of `len`
        // keys of the type whose bit is passed, which the backend declared;
        // `message` has `MESSAGE_CAP` writable bytes, all initialised. The
        // ABI makes `sort` thread-safe.
        let code = unsafe {
            sort(
                keys.as_mut_ptr().cast(),
                keys.len(),
                T::TYPE.bit(),
                message.as_mut_ptr().cast(),
                MESSAGE_CAP,
            )
        };
        if code == status::OK && message[0] == 0 {
            return Ok(());
        }
        self.after_message(code, message)
    }

    #[cold]
    #[inline(never)]
    fn after_message(
        &self,
        code: i32,
        message: &mut [u8; MESSAGE_CAP],
    ) -> Result<(), Box<SortError>> {
        let text = plugin_message(&message[..]);
        // Zeroed again for the next call: only a used buffer costs this.
        message.fill(0);
        if code == status::OK {
            return Ok(());
        }
        Err(Box::new(SortError::Failed {
            backend: self.name().to_string(),
            code,
            message: text,
        }))
    }
}
