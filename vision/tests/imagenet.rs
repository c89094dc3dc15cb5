//! `vision::imagenet` on small trees of PNG files written here (known pixels, several sizes
//! and aspect ratios): class indexing, the evaluation transform against hand-computed pixels,
//! the training transform's determinism and crop boxes, and the errors that name a folder or
//! file.

use std::fs;
use std::path::Path;

use runs::rng::SplitMix64;
use vision::imagenet::{
    resize_bilinear, CropBox, ImageFolder, ImageNet, ImageNetLoader, ImageNetPlan, RandomResizedCrop,
    ResizeCenterCrop, RgbImage, Transform, IMAGENET_NORMALIZE,
};

/// Writes `pixels` (HWC, 1 or 3 channels) as an 8-bit PNG.
fn write_png(path: &Path, width: u32, height: u32, channels: usize, pixels: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut enc = png::Encoder::new(fs::File::create(path).unwrap(), width, height);
    enc.set_color(if channels == 1 {
        png::ColorType::Grayscale
    } else {
        png::ColorType::Rgb
    });
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(pixels).unwrap();
}

/// An RGB image whose pixel (y, x) is (x·7 + seed, y·11 + seed, (x + y)·5) mod 256.
fn pattern(width: usize, height: usize, seed: usize) -> Vec<u8> {
    (0..height)
        .flat_map(|y| (0..width).flat_map(move |x| [x * 7 + seed, y * 11 + seed, (x + y) * 5]))
        .map(|v| (v % 256) as u8)
        .collect()
}

/// A tree with classes `cat`, `ant`, `bee` (created in that order) of images of several sizes,
/// a grey one among them, a real JPEG named `.JPEG`, and a text file that is skipped.
fn tree(root: &Path) {
    let sizes = [(12, 8), (8, 12), (10, 10), (30, 7), (5, 9)];
    for (split, per_class) in [("train", 3), ("val", 2)] {
        for (c, class) in ["cat", "ant", "bee"].iter().enumerate() {
            for k in 0..per_class {
                let (w, h) = sizes[(c + k) % sizes.len()];
                let path = root.join(split).join(class).join(format!("{k:02}.png"));
                write_png(&path, w as u32, h as u32, 3, &pattern(w, h, c * 40 + k));
            }
        }
    }
    let grey: Vec<u8> = (0..6 * 4).map(|v| (v * 10) as u8).collect();
    write_png(&root.join("train/bee/zz_grey.png"), 6, 4, 1, &grey);
    let jpeg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../adapters/datasets/tests/data/rgb_444.jpg");
    fs::copy(jpeg, root.join("train/ant/photo.JPEG")).unwrap();
    fs::write(root.join("train/ant/notes.txt"), "not an image").unwrap();
}

fn floats(t: &tch::Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.reshape([-1])).unwrap()
}

/// Normalized value of byte `v` in channel `c`.
fn norm(v: f32, c: usize) -> f32 {
    (v / 255.0 - IMAGENET_NORMALIZE.mean[c]) / IMAGENET_NORMALIZE.std[c]
}

#[test]
fn classes_are_the_sorted_training_folders_and_files_are_listed_sorted() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let data = ImageNet::open(dir.path()).unwrap();
    assert_eq!(data.train.classes(), ["ant", "bee", "cat"]);
    assert_eq!(data.val.classes(), data.train.classes());
    // ant: 00, 01, 02, photo.JPEG; bee: 00, 01, 02, zz_grey; cat: 00, 01, 02.
    assert_eq!(data.train.len(), 11);
    assert_eq!(data.val.len(), 6);
    let listed: Vec<(String, usize)> = (0..data.train.len())
        .map(|i| {
            let (path, label) = data.train.sample(i).unwrap();
            (path.file_name().unwrap().to_string_lossy().into_owned(), label)
        })
        .collect();
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "00.png",
            "01.png",
            "02.png",
            "photo.JPEG",
            "00.png",
            "01.png",
            "02.png",
            "zz_grey.png",
            "00.png",
            "01.png",
            "02.png"
        ]
    );
    let labels: Vec<usize> = listed.iter().map(|(_, l)| *l).collect();
    assert_eq!(labels, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
    assert!(data.train.sample(11).is_none());
    // cat's first training image was written first: seed 0, 12 wide, 8 high.
    let cat = data.train.load(8).unwrap();
    assert_eq!((cat.height, cat.width), (8, 12));
    assert_eq!(cat.pixels, pattern(12, 8, 0));
    // The JPEG decodes (16×24, RGB); the grey PNG is expanded to three equal channels.
    let photo = data.train.load(3).unwrap();
    assert_eq!(
        (photo.height, photo.width, photo.pixels.len()),
        (16, 24, 16 * 24 * 3)
    );
    let grey = data.train.load(7).unwrap();
    assert_eq!((grey.height, grey.width), (4, 6));
    assert_eq!(&grey.pixels[3 * 5..3 * 6], [50, 50, 50]);
    // Evaluation batches: every sample in order with its label; [B, 3, S, S].
    let plan = ImageNetPlan::eval(4, 5);
    let batches: Vec<_> = ImageNetLoader::start(&data.val, plan, 2, 1)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].x.size(), [4, 3, 5, 5]);
    assert_eq!(batches[1].x.size(), [2, 3, 5, 5]);
    let y: Vec<i64> = batches
        .iter()
        .flat_map(|b| Vec::<i64>::try_from(&b.y).unwrap())
        .collect();
    assert_eq!(y, [0, 0, 1, 1, 2, 2]);
}

/// `Resize(4)` + `CenterCrop(4)` of a 3-wide, 2-high image, by hand: the shorter side 2 → 4,
/// the longer ⌊4 · 3 / 2⌋ = 6; the crop starts at column round((6 − 4) / 2) = 1. Bilinear with
/// half-pixel centres at scale ½: output row r samples source row 0.5·(r + 0.5) − 0.5 clamped
/// at 0, i.e. rows 0, 0.25, 0.75, 1 (clamped, the last row); output columns 1..=4 sample
/// source columns 0.25, 0.75, 1.25, 1.75. With red = 100 · column and green = 200 · row:
/// red 25, 75, 125, 175 across, green 0, 50, 150, 200 down.
#[test]
fn eval_transform_resizes_the_shorter_side_then_crops_the_centre_by_hand() {
    let rgb: Vec<u8> = (0..2)
        .flat_map(|y| (0..3).flat_map(move |x| [x * 100, y * 200, 77]))
        .collect();
    let image = RgbImage::from_hwc(3, 2, 3, rgb).unwrap();
    let eval = ResizeCenterCrop { resize: 4, crop: 4 };
    assert_eq!(eval.resized(2, 3), (4, 6));
    assert_eq!(
        eval.center(4, 6),
        CropBox {
            top: 0,
            left: 1,
            height: 4,
            width: 4
        }
    );
    let out = Transform::Eval(eval)
        .apply(&image, &mut SplitMix64::new(0, 0))
        .unwrap();
    let plane = |c: usize| out[c * 16..(c + 1) * 16].to_vec();
    let red: Vec<u8> = (0..4).flat_map(|_| [25u8, 75, 125, 175]).collect();
    let green: Vec<u8> = [0u8, 50, 150, 200].iter().flat_map(|&g| [g; 4]).collect();
    assert_eq!(plane(0), red);
    assert_eq!(plane(1), green);
    assert_eq!(plane(2), [77u8; 16]);

    // Downscaling by exactly 2 averages pixel pairs: an 8-wide, 4-high image with red 10·x
    // and green 20·y → 2 high, 4 wide; the centre 2×2 is resized columns 1, 2 (red 25, 45)
    // and rows 0, 1 (green 10, 50).
    let rgb: Vec<u8> = (0..4)
        .flat_map(|y| (0..8).flat_map(move |x| [x * 10, y * 20, 0]))
        .collect();
    let image = RgbImage::from_hwc(3, 4, 8, rgb).unwrap();
    let out = Transform::Eval(ResizeCenterCrop { resize: 2, crop: 2 })
        .apply(&image, &mut SplitMix64::new(0, 0))
        .unwrap();
    assert_eq!(out, [25, 45, 25, 45, 10, 10, 50, 50, 0, 0, 0, 0]);

    // torchvision's sizes for ImageNet's typical 500×375 photographs, landscape and portrait:
    // 256 × ⌊256 · 500 / 375⌋ = 341, centre offsets round(32 / 2) = 16 and round(117 / 2) = 58
    // (ties to even).
    let imagenet = ResizeCenterCrop::new(224);
    assert_eq!((imagenet.resize, imagenet.crop), (256, 224));
    assert_eq!(imagenet.resized(375, 500), (256, 341));
    assert_eq!(imagenet.resized(500, 375), (341, 256));
    assert_eq!(
        imagenet.center(256, 341),
        CropBox {
            top: 16,
            left: 58,
            height: 224,
            width: 224
        }
    );
    assert_eq!(imagenet.center(259, 256).top, 18); // round(17.5) = 18, the even one
}

#[test]
fn eval_batches_of_a_constant_image_are_its_normalized_colour() {
    let dir = tempfile::tempdir().unwrap();
    let colour = [10u8, 200, 77];
    for (class, (w, h)) in [("a", (20, 13)), ("b", (9, 31))] {
        let rgb: Vec<u8> = (0..w * h).flat_map(|_| colour).collect();
        for split in ["train", "val"] {
            write_png(
                &dir.path().join(split).join(class).join("x.png"),
                w as u32,
                h as u32,
                3,
                &rgb,
            );
        }
    }
    let data = ImageNet::open(dir.path()).unwrap();
    let plan = ImageNetPlan::eval(2, 7);
    let batch = ImageNetLoader::start(&data.val, plan, 2, 2)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(batch.x.size(), [2, 3, 7, 7]);
    let x = floats(&batch.x);
    for (i, v) in x.iter().enumerate() {
        let c = (i / 49) % 3;
        assert!((v - norm(f32::from(colour[c]), c)).abs() < 1e-6, "{i}: {v}");
    }
    // A training crop of a constant image is constant too.
    let train = ImageNetPlan::train(2, 1, 0, 7);
    let batch = ImageNetLoader::start(&data.train, train, 1, 1)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let x = floats(&batch.x);
    assert!((x[0] - norm(10.0, 0)).abs() < 1e-6 && (x[49] - norm(200.0, 1)).abs() < 1e-6);
}

/// `resize_bilinear` of a region equals cropping first: the region's own borders clamp.
#[test]
fn resizing_a_region_is_resizing_its_crop() {
    let image = RgbImage::from_hwc(3, 9, 13, pattern(13, 9, 3)).unwrap();
    let region = CropBox {
        top: 2,
        left: 3,
        height: 5,
        width: 7,
    };
    let crop: Vec<u8> = (2..7)
        .flat_map(|y| (3..10).flat_map(move |x| (0..3).map(move |c| (y, x, c))))
        .map(|(y, x, c)| image.pixels[(y * 13 + x) * 3 + c])
        .collect();
    let cropped = RgbImage::from_hwc(3, 5, 7, crop).unwrap();
    for (h, w) in [(11, 4), (3, 3), (5, 7)] {
        let a = resize_bilinear(&image, region, h, w).unwrap();
        let b = resize_bilinear(&cropped, CropBox::whole(5, 7), h, w).unwrap();
        assert_eq!(a, b);
    }
    // Same size: the identity.
    assert_eq!(
        resize_bilinear(&cropped, CropBox::whole(5, 7), 5, 7).unwrap(),
        cropped
    );
    assert!(resize_bilinear(
        &image,
        CropBox {
            top: 5,
            left: 0,
            height: 5,
            width: 1
        },
        2,
        2
    )
    .is_err());
}

#[test]
fn crop_boxes_are_inside_with_torchvision_area_and_ratio_ranges() {
    let crop = RandomResizedCrop::new(224);
    let mut rng = SplitMix64::new(11, 0);
    // A large image: rounding w and h moves the area fraction and the ratio by < 0.3 %.
    for (height, width) in [(1500, 2000), (2000, 1500)] {
        let (mut lo, mut hi, mut wide, mut tall) = (1.0f64, 0.0f64, false, false);
        for _ in 0..4000 {
            let b = crop.crop_box(height, width, &mut rng);
            assert!(b.height >= 1 && b.width >= 1);
            assert!(b.top + b.height <= height && b.left + b.width <= width, "{b:?}");
            let fraction = (b.height * b.width) as f64 / (height * width) as f64;
            let ratio = b.width as f64 / b.height as f64;
            assert!((0.08 * 0.995..=1.0).contains(&fraction), "{b:?}: {fraction}");
            assert!(
                (0.75 * 0.997..=4.0 / 3.0 * 1.003).contains(&ratio),
                "{b:?}: {ratio}"
            );
            (lo, hi) = (lo.min(fraction), hi.max(fraction));
            wide |= ratio > 1.25;
            tall |= ratio < 0.8;
        }
        assert!(
            lo < 0.1 && hi > 0.9 && wide && tall,
            "the draws cover the ranges: {lo} {hi}"
        );
    }
    // Small and odd images: always inside.
    for (height, width) in [(1, 1), (7, 5), (3, 40), (224, 224), (31, 2)] {
        for _ in 0..500 {
            let b = crop.crop_box(height, width, &mut rng);
            assert!(b.height >= 1 && b.width >= 1, "{b:?}");
            assert!(b.top + b.height <= height && b.left + b.width <= width, "{b:?}");
        }
    }
    // A 10-wide, 200-high image: no box of ratio ≥ 3/4 and area ≥ 8 % fits (w ≥ √120 > 10.5),
    // so all ten attempts fail and torchvision's fallback takes w = 10, h = round(10 / (3/4))
    // = 13, centred: top (200 − 13) / 2 = 93.
    for _ in 0..20 {
        assert_eq!(
            crop.crop_box(200, 10, &mut rng),
            CropBox {
                top: 93,
                left: 0,
                height: 13,
                width: 10
            }
        );
    }
    // And a 200-wide, 10-high one: h = 10, w = round(10 · 4/3) = 13, left 93.
    assert_eq!(
        crop.crop_box(10, 200, &mut rng),
        CropBox {
            top: 0,
            left: 93,
            height: 10,
            width: 13
        }
    );
}

#[test]
fn training_batches_are_functions_of_seed_epoch_and_sample() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let data = ImageNet::open(dir.path()).unwrap();
    let plan = |epoch| ImageNetPlan {
        drop_last: false,
        ..ImageNetPlan::train(3, 5, epoch, 6)
    };
    let run = |epoch, workers| -> Vec<vision::data::Batch> {
        ImageNetLoader::start(&data.train, plan(epoch), workers, 2)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let a = run(4, 2);
    let direct: Vec<_> = vision::imagenet::epoch_batches(&data.train, &plan(4))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // The same epoch again (a resumed run), with one worker or two, on the calling thread.
    for other in [run(4, 1), run(4, 2), direct] {
        assert_eq!(other.len(), 4);
        for (x, y) in a.iter().zip(&other) {
            assert_eq!(x.index, y.index);
            assert!(x.x.equal(&y.x) && x.y.equal(&y.y));
        }
    }
    // Every sample once per epoch.
    let mut labels: Vec<i64> = a
        .iter()
        .flat_map(|b| Vec::<i64>::try_from(&b.y).unwrap())
        .collect();
    labels.sort_unstable();
    assert_eq!(labels, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
    // A sample's draws depend on (seed, epoch, sample) only, not on its place in the order.
    let p = plan(4);
    let image = data.train.load(5).unwrap();
    let once = p.transform.apply(&image, &mut p.sample_rng(5)).unwrap();
    assert_eq!(once, p.transform.apply(&image, &mut p.sample_rng(5)).unwrap());
    let sample = vision::imagenet::sample_input(&data.train, 5, &p).unwrap();
    let position = p.order(11).iter().position(|&j| j == 5).unwrap();
    let (b, slot) = (position / 3, position % 3);
    let from_batch = floats(&a[b].x.get(slot as i64));
    assert_eq!(sample, from_batch);
    assert!((sample[0] - norm(f32::from(once[0]), 0)).abs() < 1e-6);
    // Other epochs reorder and redraw: the same sample transforms differently in most epochs.
    let b = run(5, 2);
    assert!(!b[0].y.equal(&a[0].y) || !b[0].x.equal(&a[0].x));
    let distinct: std::collections::BTreeSet<Vec<u8>> = (0..8)
        .map(|e| {
            plan(e)
                .transform
                .apply(&image, &mut plan(e).sample_rng(5))
                .unwrap()
        })
        .collect();
    assert!(distinct.len() >= 6, "{} distinct of 8", distinct.len());
    // drop_last (the training default) drops the partial batch.
    let full = ImageNetLoader::start(&data.train, ImageNetPlan::train(3, 5, 4, 6), 2, 1).unwrap();
    assert_eq!(full.batches(), 3);
    assert_eq!(full.count(), 3);
    // A loader dropped early stops its workers.
    let mut early = ImageNetLoader::start(&data.train, plan(4), 2, 1).unwrap();
    assert!(early.next().is_some());
    drop(early);
    // Bad settings are refused up front.
    let bad = ImageNetPlan { batch: 0, ..plan(0) };
    assert!(ImageNetLoader::start(&data.train, bad, 2, 1)
        .unwrap_err()
        .to_string()
        .contains("batch"));
    let bad = ImageNetPlan {
        transform: Transform::Eval(ResizeCenterCrop { resize: 3, crop: 4 }),
        ..plan(0)
    };
    assert!(ImageNetLoader::start(&data.train, bad, 2, 1)
        .unwrap_err()
        .to_string()
        .contains("resize"));
    assert!(bad.transform.apply(&image, &mut p.sample_rng(0)).is_err());
}

#[test]
fn missing_unknown_and_empty_class_folders_and_corrupt_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let sep = std::path::MAIN_SEPARATOR;
    // A class folder missing from val.
    fs::rename(dir.path().join("val/bee"), dir.path().join("bee_moved")).unwrap();
    let err = ImageNet::open(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(&format!("val{sep}bee")) && err.contains("not found"),
        "{err}"
    );
    // A val class folder the training set lacks.
    fs::rename(dir.path().join("bee_moved"), dir.path().join("val/wasp")).unwrap();
    let err = ImageNet::open(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(&format!("val{sep}wasp")) && err.contains("not one of the 3"),
        "{err}"
    );
    fs::rename(dir.path().join("val/wasp"), dir.path().join("val/bee")).unwrap();
    assert!(ImageNet::open(dir.path()).is_ok());
    // An empty class folder.
    fs::create_dir(dir.path().join("train/dog")).unwrap();
    let err = ImageNet::open(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(&format!("train{sep}dog")) && err.contains("without"),
        "{err}"
    );
    fs::remove_dir(dir.path().join("train/dog")).unwrap();
    // No train folder at all.
    let err = ImageNet::open(&dir.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere") && err.contains("train"), "{err}");
    // A corrupt file: listing succeeds, the batch holding it is an error naming it, and the
    // loader stops there.
    fs::write(dir.path().join("val/cat/01.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let data = ImageNet::open(dir.path()).unwrap();
    let results: Vec<_> = ImageNetLoader::start(&data.val, ImageNetPlan::eval(2, 4), 2, 1)
        .unwrap()
        .collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_ok());
    let err = results[2].as_ref().unwrap_err().to_string();
    assert!(
        err.contains(&format!("cat{sep}01.png")) && err.contains("PNG"),
        "{err}"
    );
    let err = ImageFolder::open(&dir.path().join("val"))
        .unwrap()
        .load(5)
        .unwrap_err()
        .to_string();
    assert!(err.contains("01.png"), "{err}");
}

/// Against torchvision 0.26 (torch 2.11): `tests/reference_imagenet.py` writes
/// `tests/reference_imagenet.json` (its docs say what each part is). Torch's CPU `uint8` path
/// (`antialias=False`) is matched byte for byte; the float path rounded to bytes is within 1;
/// PIL's (antialiased) path is matched when upscaling and differs when downscaling (up to 76
/// of 255 on these high-frequency patterns).
#[test]
fn transforms_match_torchvision() {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference_imagenet.json"))
            .unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let int = |v: &serde_json::Value| v.as_u64().unwrap() as usize;
    let bytes = |v: &serde_json::Value| -> Vec<u8> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect()
    };
    let to_chw = |image: &RgbImage| -> Vec<u8> {
        (0..3)
            .flat_map(|c| image.pixels.iter().skip(c).step_by(3).copied())
            .collect()
    };
    for case in reference["eval"].as_array().unwrap() {
        let (h, w) = (int(&case["height"]), int(&case["width"]));
        let eval = ResizeCenterCrop {
            resize: int(&case["resize"]),
            crop: int(&case["crop"]),
        };
        let image = RgbImage::from_hwc(3, h, w, bytes(&case["input"])).unwrap();
        let got = Transform::Eval(eval)
            .apply(&image, &mut SplitMix64::new(0, 0))
            .unwrap();
        assert_eq!(got, bytes(&case["output"]), "eval of {h}×{w}, {eval:?}");
        let float = bytes(&case["float"]);
        assert!(got.iter().zip(&float).all(|(a, b)| a.abs_diff(*b) <= 1));
        let pil = bytes(&case["pil"]);
        let max = got.iter().zip(&pil).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        let upscaled = eval.resize >= h.min(w);
        assert_eq!(
            max == 0,
            upscaled,
            "PIL's path differs only when downscaling: {h}×{w} {max}"
        );
    }
    for case in reference["resized_crop"].as_array().unwrap() {
        let (h, w, size) = (int(&case["height"]), int(&case["width"]), int(&case["size"]));
        let b: Vec<usize> = case["box"].as_array().unwrap().iter().map(int).collect();
        let region = CropBox {
            top: b[0],
            left: b[1],
            height: b[2],
            width: b[3],
        };
        let image = RgbImage::from_hwc(3, h, w, bytes(&case["input"])).unwrap();
        let got = resize_bilinear(&image, region, size, size).unwrap();
        let got = to_chw(&got);
        assert_eq!(got, bytes(&case["output"]), "{region:?} of {h}×{w} to {size}");
        let float = bytes(&case["float"]);
        assert!(got.iter().zip(&float).all(|(a, b)| a.abs_diff(*b) <= 1));
    }
    let crop = RandomResizedCrop::new(224);
    for case in reference["fallback"].as_array().unwrap() {
        let (h, w) = (int(&case["height"]), int(&case["width"]));
        let b: Vec<usize> = case["box"].as_array().unwrap().iter().map(int).collect();
        let want = CropBox {
            top: b[0],
            left: b[1],
            height: b[2],
            width: b[3],
        };
        for stream in 0..5 {
            assert_eq!(
                crop.crop_box(h, w, &mut SplitMix64::new(3, stream)),
                want,
                "{h}×{w}"
            );
        }
    }
    let eval = ResizeCenterCrop::new(224);
    for case in reference["sizes"].as_array().unwrap() {
        let (h, w) = (int(&case["height"]), int(&case["width"]));
        let resized: Vec<usize> = case["resized"].as_array().unwrap().iter().map(int).collect();
        let center: Vec<usize> = case["center"].as_array().unwrap().iter().map(int).collect();
        let (rh, rw) = eval.resized(h, w);
        assert_eq!([rh, rw], resized[..], "{h}×{w}");
        let b = eval.center(rh, rw);
        assert_eq!([b.top, b.left], center[..], "{h}×{w}");
    }
}

/// Throughput on a real tree (not run by default): set `IMAGENET_DIR` to a `train/`/`val/`
/// tree and run
/// `cargo test --release -p vision --test imagenet -- --ignored --nocapture throughput`.
/// Prints images per second for one and two workers, training and evaluation at 224.
#[test]
#[ignore = "needs IMAGENET_DIR and a release build"]
fn throughput() {
    let Some(root) = std::env::var_os("IMAGENET_DIR") else {
        eprintln!("IMAGENET_DIR is not set");
        return;
    };
    let data = ImageNet::open(Path::new(&root)).unwrap();
    for (name, folder, plan) in [
        ("train", &data.train, ImageNetPlan::train(16, 0, 0, 224)),
        ("eval", &data.val, ImageNetPlan::eval(16, 224)),
    ] {
        for workers in [1, 2] {
            let start = std::time::Instant::now();
            let mut images = 0;
            for batch in ImageNetLoader::start(folder, plan, workers, 2).unwrap() {
                images += batch.unwrap().y.size()[0];
            }
            let seconds = start.elapsed().as_secs_f64();
            eprintln!(
                "{name}, {workers} worker(s): {images} images in {seconds:.2} s, {:.0} images/s",
                images as f64 / seconds
            );
        }
    }
}
