//! Tells the tests whether the CPU that builds them can run the AVX-512
//! kernel (`cfg(avx512_here)`): the tests of `vector` that call it
//! directly are ignored, with that reason, where it cannot.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(avx512_here)");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        println!("cargo::rustc-cfg=avx512_here");
    }
}
