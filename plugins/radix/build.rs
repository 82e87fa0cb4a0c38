//! Tells the tests whether the CPU that builds them can run the vector
//! kernels (`cfg(avx512_here)`, `cfg(avx2_here)`): the tests of `vector`
//! and `avx2` that call them directly are ignored, with that reason,
//! where they cannot.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(avx512_here)");
    println!("cargo::rustc-check-cfg=cfg(avx2_here)");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            println!("cargo::rustc-cfg=avx512_here");
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            println!("cargo::rustc-cfg=avx2_here");
        }
    }
}
