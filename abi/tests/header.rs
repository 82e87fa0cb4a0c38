//! The C header and the Rust definitions describe one ABI: this test compiles
//! a C program against `include/wildsort.h` with the system C compiler (`CC`,
//! else `cc`), runs it, and compares every size, offset and constant it
//! prints with the Rust side.

use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};
use std::path::Path;
use std::process::Command;
use wildhost_abi::{
    ABI_MAJOR, ABI_MINOR, AbiTag, KeyType, MAGIC, MAX_DOC, MAX_FEATURES, MAX_METHOD_SIZE,
    MAX_METHODS, MAX_NAME, METHOD_SIZE_1_0, METHOD_SIZE_1_1, MethodDef, ModuleDef, PayloadType,
    SortOptions, flags, status,
};

const PROGRAM: &str = r#"
#include "wildsort.h"
#include <stddef.h>
#include <stdio.h>

#define P(name, value) printf("%s %llu\n", name, (unsigned long long)(value))
#define SIZE(T) P("sizeof " #T, sizeof(T)); P("alignof " #T, _Alignof(T))
#define OFF(T, f) P(#T "." #f, offsetof(T, f))
#define SIGNED(name) printf("%s %lld\n", #name, (long long)(name))

static int32_t sort_with(void *keys, void *payload, size_t len, uint32_t key_type,
                         uint32_t payload_type, const WildSortOptions *options, char *err,
                         size_t err_cap) {
    (void)keys, (void)payload, (void)len, (void)key_type, (void)payload_type;
    (void)err, (void)err_cap;
    return (int32_t)options->threads;
}

int main(void) {
    P("WILD_MAGIC", WILD_MAGIC);
    P("WILD_ABI_MAJOR", WILD_ABI_MAJOR);
    P("WILD_ABI_MINOR", WILD_ABI_MINOR);
    P("WILD_KEY_U32", WILD_KEY_U32);
    P("WILD_KEY_U64", WILD_KEY_U64);
    P("WILD_KEY_I32", WILD_KEY_I32);
    P("WILD_KEY_I64", WILD_KEY_I64);
    P("WILD_KEY_F32", WILD_KEY_F32);
    P("WILD_KEY_F64", WILD_KEY_F64);
    P("WILD_KEY_ALL", WILD_KEY_ALL);
    P("WILD_PAYLOAD_U32", WILD_PAYLOAD_U32);
    P("WILD_PAYLOAD_U64", WILD_PAYLOAD_U64);
    P("WILD_FLAG_STABLE", WILD_FLAG_STABLE);
    P("WILD_FLAG_PARALLEL", WILD_FLAG_PARALLEL);
    P("WILD_FLAG_FROM_SOURCE", WILD_FLAG_FROM_SOURCE);
    SIGNED(WILD_OK);
    SIGNED(WILD_ERR_UNSUPPORTED_KEY_TYPE);
    SIGNED(WILD_ERR_INVALID_ARGUMENT);
    SIGNED(WILD_ERR_OUT_OF_MEMORY);
    SIGNED(WILD_ERR_PANICKED);
    SIGNED(WILD_ERR_FAILED);
    SIGNED(WILD_UNAVAILABLE);
    P("WILD_MAX_NAME", WILD_MAX_NAME);
    P("WILD_MAX_DOC", WILD_MAX_DOC);
    P("WILD_MAX_METHODS", WILD_MAX_METHODS);
    P("WILD_MAX_FEATURES", WILD_MAX_FEATURES);
    P("WILD_MAX_METHOD_SIZE", WILD_MAX_METHOD_SIZE);

    SIZE(WildAbiTag);
    OFF(WildAbiTag, magic);
    OFF(WildAbiTag, abi_major);
    OFF(WildAbiTag, abi_minor);
    OFF(WildAbiTag, module_size);

    SIZE(WildMethodDef);
    OFF(WildMethodDef, name);
    OFF(WildMethodDef, doc);
    OFF(WildMethodDef, sort);
    OFF(WildMethodDef, key_types);
    OFF(WildMethodDef, flags);
    OFF(WildMethodDef, scratch_percent);
    OFF(WildMethodDef, reserved);
    OFF(WildMethodDef, sort_pairs);
    OFF(WildMethodDef, payload_types);
    OFF(WildMethodDef, reserved2);
    OFF(WildMethodDef, sort_with);
    /* ABI 1.0's entry ended where 1.1's appended fields begin, and 1.1's
     * where 1.2's begin. */
    P("method size 1.0", offsetof(WildMethodDef, sort_pairs));
    P("method size 1.1", offsetof(WildMethodDef, sort_with));
    /* No padding: the last field ends the struct. */
    P("WildMethodDef end", offsetof(WildMethodDef, sort_with) + sizeof(WildSortWithFn));

    SIZE(WildSortOptions);
    OFF(WildSortOptions, size);
    OFF(WildSortOptions, threads);
    OFF(WildSortOptions, source);

    SIZE(WildModuleDef);
    OFF(WildModuleDef, magic);
    OFF(WildModuleDef, abi_major);
    OFF(WildModuleDef, abi_minor);
    OFF(WildModuleDef, size);
    OFF(WildModuleDef, name);
    OFF(WildModuleDef, version);
    OFF(WildModuleDef, doc);
    OFF(WildModuleDef, features);
    OFF(WildModuleDef, init);
    OFF(WildModuleDef, methods);
    OFF(WildModuleDef, method_count);
    OFF(WildModuleDef, method_size);

    /* A backend's `sort_with` has the signature of WildSortWithFn. */
    WildMethodDef with = {0};
    with.sort_with = sort_with;
    WildSortOptions options = {sizeof(WildSortOptions), 2, NULL};
    P("sort_with threads", with.sort_with(NULL, NULL, 0, WILD_KEY_U64, 0, &options, NULL, 0));

    /* The macros a plugin uses must produce the current version. */
    static const WildMethodDef methods[3];
    WildModuleDef def = {WILD_MODULE_HEAD, 0, 0, 0, 0, 0, WILD_METHOD_TABLE(methods)};
    P("head.magic", def.magic);
    P("head.abi_major", def.abi_major);
    P("head.abi_minor", def.abi_minor);
    P("head.size", def.size);
    P("table.method_count", def.method_count);
    P("table.method_size", def.method_size);
    return 0;
}
"#;

/// Compiles and runs the program; returns what it printed, by name.
fn c_view() -> BTreeMap<String, i128> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = dir.path().join("agree.c");
    let exe = dir.path().join("agree");
    std::fs::write(&source, PROGRAM).expect("write the C program");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(
        out.status.success(),
        "the header does not compile as strict C11:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run the C program");
    assert!(run.status.success());
    String::from_utf8(run.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').expect("`name value`");
            (name.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

fn rust_view() -> BTreeMap<String, i128> {
    let mut v = BTreeMap::new();
    let mut put = |name: &str, value: i128| {
        v.insert(name.to_owned(), value);
    };
    put("WILD_MAGIC", MAGIC.into());
    put("WILD_ABI_MAJOR", ABI_MAJOR.into());
    put("WILD_ABI_MINOR", ABI_MINOR.into());
    put("WILD_KEY_U32", KeyType::U32.bit().into());
    put("WILD_KEY_U64", KeyType::U64.bit().into());
    put("WILD_KEY_I32", KeyType::I32.bit().into());
    put("WILD_KEY_I64", KeyType::I64.bit().into());
    put("WILD_KEY_F32", KeyType::F32.bit().into());
    put("WILD_KEY_F64", KeyType::F64.bit().into());
    put("WILD_KEY_ALL", KeyType::KNOWN_BITS.into());
    put("WILD_PAYLOAD_U32", PayloadType::U32.bit().into());
    put("WILD_PAYLOAD_U64", PayloadType::U64.bit().into());
    put("WILD_FLAG_STABLE", flags::STABLE.into());
    put("WILD_FLAG_PARALLEL", flags::PARALLEL.into());
    put("WILD_FLAG_FROM_SOURCE", flags::FROM_SOURCE.into());
    put("WILD_OK", status::OK.into());
    put(
        "WILD_ERR_UNSUPPORTED_KEY_TYPE",
        status::UNSUPPORTED_KEY_TYPE.into(),
    );
    put("WILD_ERR_INVALID_ARGUMENT", status::INVALID_ARGUMENT.into());
    put("WILD_ERR_OUT_OF_MEMORY", status::OUT_OF_MEMORY.into());
    put("WILD_ERR_PANICKED", status::PANICKED.into());
    put("WILD_ERR_FAILED", status::FAILED.into());
    put("WILD_UNAVAILABLE", status::UNAVAILABLE.into());
    put("WILD_MAX_NAME", MAX_NAME as i128);
    put("WILD_MAX_DOC", MAX_DOC as i128);
    put("WILD_MAX_METHODS", MAX_METHODS.into());
    put("WILD_MAX_FEATURES", MAX_FEATURES as i128);
    put("WILD_MAX_METHOD_SIZE", MAX_METHOD_SIZE.into());

    macro_rules! layout {
        ($c:literal, $t:ty, [$($f:ident),*]) => {
            put(concat!("sizeof ", $c), size_of::<$t>() as i128);
            put(concat!("alignof ", $c), align_of::<$t>() as i128);
            $(put(concat!($c, ".", stringify!($f)), offset_of!($t, $f) as i128);)*
        };
    }
    layout!(
        "WildAbiTag",
        AbiTag,
        [magic, abi_major, abi_minor, module_size]
    );
    layout!(
        "WildMethodDef",
        MethodDef,
        [
            name,
            doc,
            sort,
            key_types,
            flags,
            scratch_percent,
            reserved,
            sort_pairs,
            payload_types,
            reserved2,
            sort_with
        ]
    );
    put("method size 1.0", METHOD_SIZE_1_0 as i128);
    put("method size 1.1", METHOD_SIZE_1_1 as i128);
    put("WildMethodDef end", size_of::<MethodDef>() as i128);
    layout!("WildSortOptions", SortOptions, [size, threads, source]);
    layout!(
        "WildModuleDef",
        ModuleDef,
        [
            magic,
            abi_major,
            abi_minor,
            size,
            name,
            version,
            doc,
            features,
            init,
            methods,
            method_count,
            method_size
        ]
    );

    put("sort_with threads", 2);
    put("head.magic", MAGIC.into());
    put("head.abi_major", ABI_MAJOR.into());
    put("head.abi_minor", ABI_MINOR.into());
    put("head.size", size_of::<ModuleDef>() as i128);
    put("table.method_count", 3);
    put("table.method_size", size_of::<MethodDef>() as i128);
    v
}

#[test]
fn header_agrees_with_the_rust_definitions() {
    let c = c_view();
    let rust = rust_view();
    let mut differences = Vec::new();
    for (name, r) in &rust {
        match c.get(name) {
            Some(value) if value == r => {}
            Some(value) => differences.push(format!("{name}: C says {value}, Rust says {r}")),
            None => differences.push(format!("{name}: missing from the C side")),
        }
    }
    for name in c.keys().filter(|n| !rust.contains_key(*n)) {
        differences.push(format!("{name}: missing from the Rust side"));
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn the_tag_matches_the_module_definition_size() {
    assert_eq!(AbiTag::CURRENT.module_size as usize, size_of::<ModuleDef>());
    assert_eq!(AbiTag::CURRENT.magic, MAGIC);
}
