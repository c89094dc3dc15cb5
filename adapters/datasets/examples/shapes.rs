//! Loads datasets with `datasets::load` and prints their shapes and class counts:
//! `cargo run -p datasets --example shapes -- [NAME[=DIR] ...]` (default: every dataset from its
//! default folder under `data/`). A dataset that cannot be loaded is reported and skipped.

use datasets::{load, DatasetName};
use tch::Kind;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let requests: Vec<(DatasetName, std::path::PathBuf)> = if args.is_empty() {
        DatasetName::ALL.iter().map(|n| (*n, n.default_dir())).collect()
    } else {
        args.iter()
            .map(|a| {
                let (name, dir) = a.split_once('=').unwrap_or((a, ""));
                let name: DatasetName = name.parse()?;
                let dir = if dir.is_empty() {
                    name.default_dir()
                } else {
                    dir.into()
                };
                Ok((name, dir))
            })
            .collect::<Result<_, datasets::DatasetError>>()?
    };
    for (name, dir) in requests {
        let data = match load(name, &dir) {
            Ok(data) => data,
            Err(err) => {
                println!("{name}: {err}");
                continue;
            }
        };
        let counts = data.train.y.bincount::<tch::Tensor>(None, data.classes as i64);
        println!(
            "{name} ({}): train x {:?} {:?} in [{}, {}], y {:?}; test x {:?}, y {:?}; train class counts {:?}",
            dir.display(),
            data.train.x.size(),
            data.train.x.kind(),
            data.train.x.min().double_value(&[]),
            data.train.x.max().double_value(&[]),
            data.train.y.size(),
            data.test.x.size(),
            data.test.y.size(),
            Vec::<i64>::try_from(counts.to_kind(Kind::Int64))?,
        );
    }
    Ok(())
}
