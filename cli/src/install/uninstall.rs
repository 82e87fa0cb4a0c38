//! `wildhost uninstall MODULE`: removes a module `wildhost install` put
//! into the user plugin directory, and its entry in the install manifest.

use crate::Outcome;
use crate::report::Failure;
use clap::Args;
use wildhost::install::archive::plugin_file_name;
use wildhost::loading::discover::user_plugin_dir;
use wildhost::loading::manifest::{self, Manifest};

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The module name, as `wildhost list` shows it.
    module: String,
}

pub fn run(args: &UninstallArgs) -> Outcome {
    let module = args.module.as_str();
    let cannot = || Failure::new(format!("cannot uninstall `{module}`"));
    let dir = user_plugin_dir().ok_or_else(|| {
        cannot().cause("there is no user plugin directory: neither XDG_DATA_HOME nor HOME is set")
    })?;
    let not_installed = |manifest: Option<&Manifest>| {
        let file = dir.join(plugin_file_name(module));
        if file.exists() {
            cannot()
                .cause(format!(
                    "`{}` is there, but `wildhost install` did not put it there",
                    file.display()
                ))
                .help("remove the file yourself if you want it gone")
        } else {
            cannot()
                .cause(format!(
                    "no module `{module}` was installed into `{}`",
                    dir.display()
                ))
                .help(
                    manifest
                        .and_then(|m| {
                            crate::names::did_you_mean(
                                module,
                                m.plugins.iter().map(|e| e.module.as_str()),
                            )
                        })
                        .unwrap_or_else(|| "`wildhost list` shows the installed modules".into()),
                )
        }
    };
    if !Manifest::path_in(&dir).exists() {
        return Err(not_installed(None));
    }
    let _lock = manifest::lock(&dir)
        .map_err(|e| cannot().cause(format!("cannot lock the install manifest: {e}")))?;
    let mut manifest = Manifest::read(&dir).map_err(|e| cannot().cause(e))?;
    let Some(entry) = manifest.entry_of_module(module).cloned() else {
        return Err(not_installed(Some(&manifest)));
    };
    let path = dir.join(&entry.file);
    let gone = match std::fs::remove_file(&path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(cannot().cause(format!("cannot remove `{}`: {e}", path.display()))),
    };
    manifest.forget(&entry.file);
    manifest
        .write(&dir)
        .and_then(|()| manifest::sync_dir(&dir))
        .map_err(|e| cannot().cause(format!("cannot write the install manifest: {e}")))?;
    let text = if gone {
        format!("uninstalled {module}: removed {}\n", path.display())
    } else {
        format!(
            "uninstalled {module}: {} was already gone; its manifest entry is removed\n",
            path.display()
        )
    };
    crate::output::Destination::Stdout.write(text.as_bytes())
}
