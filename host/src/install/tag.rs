//! The platform tag of a plugin binary, as a wheel's tag says which
//! machines can use it: architecture, operating system, C library and the
//! plugin ABI, `x86_64-linux-gnu-abi1.2`.

use crate::loading::preflight::PreflightReport;
use std::fmt;
use wildhost_abi::{ABI_MAJOR, ABI_MINOR};

/// Where a plugin binary can run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The architecture, as `std::env::consts::ARCH` names it.
    pub arch: String,
    /// The operating system, as `std::env::consts::OS` names it.
    pub os: String,
    /// The C library: `gnu` (glibc), `musl`, or what the target names.
    pub libc: String,
    /// The plugin ABI's major version.
    pub abi_major: u16,
    /// The plugin ABI's minor version.
    pub abi_minor: u16,
}

impl Tag {
    /// The tag of this wildhost: the plugins it can load have its
    /// architecture, system and C library, and its ABI major with a minor
    /// no newer than its own.
    pub fn host() -> Tag {
        Tag {
            arch: std::env::consts::ARCH.to_string(),
            os: std::env::consts::OS.to_string(),
            libc: host_libc().to_string(),
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
        }
    }

    /// The tag of a plugin file, from what preflight read in it: the
    /// architecture and the ABI from the object file, the C library from
    /// the libraries it needs (glibc's `libc.so.6`, musl's `libc.so`);
    /// one that needs no C library runs with this host's.
    pub fn of_plugin(report: &PreflightReport) -> Tag {
        let needs = |name: &str| report.dependencies.needed.iter().any(|n| n == name);
        let libc = if needs("libc.so.6") {
            "gnu"
        } else if needs("libc.so")
            || report
                .dependencies
                .needed
                .iter()
                .any(|n| n.contains("musl"))
        {
            "musl"
        } else {
            host_libc()
        };
        Tag {
            arch: report.architecture.clone(),
            os: std::env::consts::OS.to_string(),
            libc: libc.to_string(),
            abi_major: report.abi_major,
            abi_minor: report.abi_minor,
        }
    }

    /// Parses the form [`Tag`]'s `Display` writes.
    pub fn parse(text: &str) -> Result<Tag, String> {
        let bad = || format!("`{text}` is not a platform tag (like `x86_64-linux-gnu-abi1.2`)");
        let parts: Vec<&str> = text.split('-').collect();
        let [arch, os, libc, abi] = parts[..] else {
            return Err(bad());
        };
        let (major, minor) = abi
            .strip_prefix("abi")
            .and_then(|v| v.split_once('.'))
            .ok_or_else(bad)?;
        let word =
            |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !word(arch) || !word(os) || !word(libc) {
            return Err(bad());
        }
        Ok(Tag {
            arch: arch.into(),
            os: os.into(),
            libc: libc.into(),
            abi_major: major.parse().map_err(|_| bad())?,
            abi_minor: minor.parse().map_err(|_| bad())?,
        })
    }

    /// Whether a binary of this tag runs in this host; `Err` says why not.
    pub fn fits_host(&self) -> Result<(), String> {
        let host = Tag::host();
        let platform = |t: &Tag| format!("{}-{}-{}", t.arch, t.os, t.libc);
        if platform(self) != platform(&host) {
            return Err(format!(
                "built for {}, this machine is {}",
                platform(self),
                platform(&host)
            ));
        }
        if self.abi_major != host.abi_major {
            return Err(format!(
                "built for plugin ABI {}.{}, this wildhost speaks {}.x",
                self.abi_major, self.abi_minor, host.abi_major
            ));
        }
        if self.abi_minor > host.abi_minor {
            return Err(format!(
                "built for plugin ABI {}.{}, newer than this wildhost's {}.{}",
                self.abi_major, self.abi_minor, host.abi_major, host.abi_minor
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}-abi{}.{}",
            self.arch, self.os, self.libc, self.abi_major, self.abi_minor
        )
    }
}

/// The C library this wildhost was built against.
fn host_libc() -> &'static str {
    if cfg!(target_env = "gnu") {
        "gnu"
    } else if cfg!(target_env = "musl") {
        "musl"
    } else if cfg!(target_env = "") {
        "none"
    } else {
        std::env::consts::OS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_prints_and_parses_back() {
        let host = Tag::host();
        assert_eq!(Tag::parse(&host.to_string()), Ok(host.clone()));
        assert_eq!(host.fits_host(), Ok(()));
        let tag = Tag::parse("aarch64-linux-musl-abi1.0").expect("parses");
        assert_eq!(tag.to_string(), "aarch64-linux-musl-abi1.0");
        for bad in [
            "",
            "x86_64-linux-gnu",
            "x86_64-linux-gnu-abi1",
            "a-b-c-abiX.1",
            "a/b-c-d-abi1.0",
        ] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn another_machine_or_a_newer_abi_does_not_fit() {
        let other_arch = Tag {
            arch: if cfg!(target_arch = "aarch64") {
                "x86_64"
            } else {
                "aarch64"
            }
            .into(),
            ..Tag::host()
        };
        assert!(
            other_arch
                .fits_host()
                .is_err_and(|e| e.contains("this machine is"))
        );
        let musl = Tag {
            libc: "musl-other".into(),
            ..Tag::host()
        };
        assert!(musl.fits_host().is_err());
        let newer = Tag {
            abi_minor: ABI_MINOR + 1,
            ..Tag::host()
        };
        assert!(newer.fits_host().is_err_and(|e| e.contains("newer")));
        let major = Tag {
            abi_major: ABI_MAJOR + 1,
            ..Tag::host()
        };
        assert!(major.fits_host().is_err_and(|e| e.contains("speaks")));
        if ABI_MINOR > 0 {
            let older = Tag {
                abi_minor: ABI_MINOR - 1,
                ..Tag::host()
            };
            assert_eq!(older.fits_host(), Ok(()));
        }
    }
}
